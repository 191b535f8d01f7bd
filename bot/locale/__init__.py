"""Compiled message catalogs (gettext), one folder per language; see bot/render/i18n.py."""
