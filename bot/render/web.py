"""What people (and probes) read from the bot's web server: the pages and short plain texts.

The page for a link the bot does not know (a forged, truncated or altered token, or a message
that no longer exists) is a small static HTML page: it repeats nothing from the request. It is
bilingual (English, then French), as a Canadian organisation's public pages are: the browser
that opens a link says nothing the bot could match to a chat's language. Pure.
"""

from __future__ import annotations

LINK_NOT_FOUND_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Link not found · Lien introuvable</title>
</head>
<body>
<h1>Link not found</h1>
<p>This link is not valid, or the message it belonged to no longer exists.
Please open the link again from the message in Telegram, or ask the organisation that sent it.</p>
<hr>
<h1 lang="fr">Lien introuvable</h1>
<p lang="fr">Ce lien n’est pas valide, ou le message auquel il appartenait n’existe plus.
Rouvrez le lien à partir du message dans Telegram, ou adressez-vous à l’organisme qui l’a
envoyé.</p>
</body>
</html>
"""

NOT_FOUND_TEXT = "try /healthz or /metrics\n"
METHOD_NOT_ALLOWED_TEXT = "GET only\n"
TOO_LARGE_TEXT = "request too large\n"
TIMEOUT_TEXT = "request timed out\n"
SERVER_ERROR_TEXT = "internal error\n"

# Answers to webhook requests (read by Telegram, or by whoever probes the webhook's path).
WEBHOOK_ACCEPTED_TEXT = "ok\n"
WEBHOOK_FORBIDDEN_TEXT = "forbidden\n"
WEBHOOK_BAD_UPDATE_TEXT = "not a Telegram update\n"
WEBHOOK_CLOSING_TEXT = "shutting down, send it again\n"
