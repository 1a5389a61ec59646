"""``pgteams serve``: the inbound side. Teams (through the Bot Framework) posts activities here.

``POST /api/messages`` (the path is a setting):

1. **Authentication, before anything is read from or written to the database.** The
   ``Authorization: Bearer`` JWT must be RS256, signed by a key from the Bot Framework OpenID
   metadata (``openid_metadata_url`` → ``jwks_uri``; keys cached, refetched for an unknown
   ``kid`` at most once a minute), endorsed for the activity's ``channelId`` when the key lists
   endorsements, issued by ``issuer`` (``https://api.botframework.com``), unexpired (``exp``
   required, ``nbf`` honoured, ``leeway_seconds`` of clock skew), and its ``serviceurl`` claim must
   be the activity's ``serviceUrl``. Then the tenant: the activity's Entra tenant
   (``conversation.tenantId``, else ``channelData.tenant.id``) is looked up with
   ``msteams.lookup_bot_tenants`` (no secrets), and the token's audience must be the ``bot_app_id``
   of exactly one of those tenants. Anything else is **401 and nothing is recorded**.
2. Every authenticated activity: ``msteams.capture_conversation_reference(tenant, activity)``
   (DESIGN Flow C): stores or refreshes the reference, marks it stale on a bot removal or an
   uninstall, revives it on the next activity.
3. Card actions: an ``invoke`` named ``adaptiveCard/action`` whose ``value.action.verb`` is
   acknowledge / escalate / retry / discard and whose ``value.action.data`` names the delivery
   (``delivery_id``, or the ``internal_notification_id`` + destination a card built before the
   enqueue carries; see :mod:`pgteams.cards`) → ``msteams.record_response`` (actor =
   ``from.aadObjectId``, ``p_activity_id`` = ``activity.id``, so Teams' retries of one invoke are
   recorded once) → ``200 {"statusCode":200,"type":"application/vnd.microsoft.card.adaptive",
   "value":<the card redrawn: who did what, when>}``. A refusal answers
   ``application/vnd.microsoft.error`` with the status of its SQLSTATE (22023/22004 → 400,
   42501 → 403, P0002 → 404, 55000 → 409), never a stack trace. The ``Action.Submit`` fallback
   (a ``message`` whose ``value`` has ``pgteams_action``) is recorded the same way.

Logs name the tenant, the activity type and id and the outcome; never the token, never the text.

Run it: ``pgteams serve --dsn … [--port 3978]`` behind TLS termination, with the bot's messaging
endpoint pointing at ``https://<host>/api/messages``. Its database login needs only ``msteams_app``.

Layout: ``settings`` (ServeSettings), ``bot_auth`` (signing keys and JWT checks), ``app`` (the ASGI
application and its handlers), ``server`` (uvicorn in a thread), ``cli`` (the command).
"""

from __future__ import annotations

from .app import build_app
from .bot_auth import AuthError, BotFrameworkKeys
from .cli import serve_command
from .server import BackgroundServer
from .settings import DEFAULT_ISSUER, DEFAULT_OPENID_METADATA_URL, ServeSettings

__all__ = ["ServeSettings", "BotFrameworkKeys", "AuthError", "build_app", "BackgroundServer", "serve_command",
           "DEFAULT_OPENID_METADATA_URL", "DEFAULT_ISSUER"]
