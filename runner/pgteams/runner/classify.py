"""Classify every answer from Microsoft into the closed error taxonomy (msteams.error_codes).

Which codes are retried is data in SQL; this module only names what happened. Branch on status
and Microsoft's error `code`, never on message text, except where Microsoft gives no code
(Graph's "app not installed" 403, legacy connectors' 429-in-the-body).
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import asdict, dataclass

import httpx

MAX_MESSAGE = 1024


@dataclass
class Outcome:
    status: str                              # sent | delivered | failed | skipped
    status_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    provider_message_id: str | None = None
    provider_request_id: str | None = None
    retry_after: float | None = None         # seconds

    def report(self) -> dict:
        d = asdict(self)
        d["retry_after_seconds"] = d.pop("retry_after")
        if d["error_message"]:
            d["error_message"] = d["error_message"][:MAX_MESSAGE]
        return d


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number (Graph sends fractions, e.g. 2.128) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (now if now is not None else time.time())
    if seconds != seconds or seconds < 0:    # NaN or in the past
        return 0.0
    return min(seconds, 86400.0)


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    """(code, message) from a Graph or Bot Framework error body, whatever its shape."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    err = body.get("error")
    if isinstance(err, dict):
        return (str(err.get("code")) if err.get("code") else None,
                str(err.get("message")) if err.get("message") else None)
    if "errorCode" in body:                  # blocked writes: {"errorCode": 209, "message": "{\"subCode\": …}"}
        message = str(body.get("message") or "")
        sub = None
        try:
            sub = json.loads(message).get("subCode")
        except (json.JSONDecodeError, AttributeError, TypeError):
            pass
        return (str(sub) if sub else f"errorCode{body['errorCode']}"), message
    if isinstance(err, str):
        return err, str(body.get("error_description") or "")
    return None, None


def _describe(response: httpx.Response, code: str | None, message: str | None) -> str:
    text = f"HTTP {response.status_code}"
    if code:
        text += f" {code}"
    if message:
        text += f": {message[:300]}"
    return text


def _request_id(response: httpx.Response) -> str | None:
    return (response.headers.get("request-id") or response.headers.get("x-correlating-operationid")
            or response.headers.get("x-ms-request-id"))


def _failed(response: httpx.Response, error_code: str, code: str | None, message: str | None) -> Outcome:
    return Outcome(status="failed", status_code=response.status_code, error_code=error_code,
                   error_message=_describe(response, code, message), provider_request_id=_request_id(response),
                   retry_after=parse_retry_after(response.headers.get("retry-after")))


def classify_graph(response: httpx.Response) -> Outcome:
    s = response.status_code
    if 200 <= s < 300:
        return Outcome(status="sent", status_code=s, provider_request_id=_request_id(response))
    code, message = _error_body(response)
    text = (message or "").lower()
    if s == 429:
        error = "graph_throttled"
    elif s == 403 and ("is not authorized to generate custom text notifications" in text
                       or "expected teams app is installed" in text):
        error = "app_not_installed"
    elif s in (401, 403):
        error = "graph_unauthorized"
    elif s == 404:
        error = "graph_not_found"
    elif s == 409:
        error = "graph_conflict"
    elif s == 413:
        error = "payload_too_large"
    elif s == 400:
        error = "bad_request"
    elif s >= 500:
        error = "graph_server_error"
    else:
        error = "unknown"
    return _failed(response, error, code, message)


_BOT_403 = {
    "BotNotInConversationRoster": "bot_not_in_conversation",
    "ConversationBlockedByUser": "conversation_blocked",
    "MessageWritesBlocked": "conversation_blocked",
    "BotDisabledByAdmin": "bot_disabled",
    "ForbiddenOperationException": "app_not_installed",
    "InvalidBotApiHost": "invalid_bot_api_host",
    "NotEnoughPermissions": "bot_unauthorized",
}


def classify_bot(response: httpx.Response) -> Outcome:
    s = response.status_code
    if 200 <= s < 300:
        activity_id = None
        try:
            body = response.json()
            activity_id = str(body.get("id")) if isinstance(body, dict) and body.get("id") else None
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            pass
        return Outcome(status="sent", status_code=s, provider_message_id=activity_id,
                       provider_request_id=_request_id(response))
    code, message = _error_body(response)
    if s == 429:
        error = "bot_throttled"
    elif s == 403:
        error = _BOT_403.get(code or "", "bot_unauthorized")
    elif s == 401:
        error = "bot_unauthorized"
    elif s == 404:
        error = "conversation_not_found" if code in (None, "ConversationNotFound") else "bad_request"
    elif s == 400:
        error = "bad_request"
    elif s == 412:
        error = "bot_precondition_failed"
    elif s == 413:
        error = "payload_too_large"
    elif s == 500:
        error = "bot_service_error"
    elif s >= 500:
        error = "bot_server_error"
    else:
        error = "unknown"
    return _failed(response, error, code, message)


def classify_webhook(response: httpx.Response) -> Outcome:
    s = response.status_code
    body = response.text[:512] if s < 300 or s == 429 else ""
    if 200 <= s < 300:
        # Legacy connectors answer 200 with body "1", and report throttling inside a 200 body.
        if "HTTP error 429" in body:
            return Outcome(status="failed", status_code=429, error_code="webhook_throttled",
                           error_message="HTTP 200 with an embedded 429 from the Teams endpoint")
        return Outcome(status="sent", status_code=s, provider_request_id=_request_id(response))
    code, message = _error_body(response)
    if s == 429:
        error = "webhook_throttled"
    elif s == 404:
        error = "webhook_not_found"
    elif s == 413:
        error = "payload_too_large"
    elif 400 <= s < 500:
        error = "webhook_rejected"
    elif s >= 500:
        error = "webhook_server_error"
    else:
        error = "unknown"
    return _failed(response, error, code, message)


CLASSIFIERS = {"graph": classify_graph, "bot": classify_bot, "webhook": classify_webhook}


def classify(transport: str, response: httpx.Response) -> Outcome:
    return CLASSIFIERS[transport](response)


def classify_exception(exc: BaseException) -> Outcome:
    """A send that got no answer: network error or timeout. The URL is never part of the message."""
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
    return Outcome(status="failed", error_code="transient", error_message=f"{kind}: {type(exc).__name__}")
