"""Campaign Action Bot."""

__version__ = "0.1.0"
