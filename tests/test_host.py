"""pgteams.host: the Python wrappers of the host-facing SQL API, against a real database.

The wrappers run as a login that is only a member of msteams_app, in the host's own transaction.
A hypothesis property proves the Python canonical JSON and payload hash equal SQL's
msteams.canonical_json / msteams.payload_hash for generated JSON documents (nested objects and
arrays, repeated keys, unicode written raw and as escapes, control characters, numbers with
signs, fractions and exponents) and for generated Python values (floats included).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from pgteams import host
from pgteams.host import cards

HOST_LOGIN = "pgteams_host_test"
T1, T2 = "00000000-0000-4000-8000-0000000000d1", "00000000-0000-4000-8000-0000000000d2"
AAD1 = "33333333-3333-4333-8333-333333333333"
CONV = "a:1host-chat"
USER = "aaaaaaaa-0000-4000-8000-0000000000e1"
BOTMSG = {"type": "message", "text": "Ticket 42 was escalated"}
PROPS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def host_login(cluster, template_db):
    with cluster.admin() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (HOST_LOGIN,)).fetchone():
            conn.execute(f"CREATE ROLE {HOST_LOGIN} LOGIN")
        conn.execute(f"GRANT msteams_app TO {HOST_LOGIN}")
    return HOST_LOGIN


@pytest.fixture
def app_dsn(cluster, dbname, host_login):
    return cluster.dsn(dbname, user=host_login)


@pytest.fixture
def app(app_dsn, db):
    """The host's connection: its own login (msteams_app), not autocommit, like an application's."""
    with psycopg.connect(app_dsn) as conn:
        yield conn


def activity(user=USER, conversation=CONV, ts="2025-01-10T10:00:00.000Z"):
    return {"type": "message", "id": "1736503200000", "timestamp": ts,
            "serviceUrl": "https://smba.trafficmanager.net/amer/", "channelId": "msteams",
            "from": {"id": "29:1user", "aadObjectId": user}, "recipient": {"id": "28:bot-d1"},
            "conversation": {"id": conversation, "conversationType": "personal", "tenantId": AAD1},
            "locale": "en-GB", "text": "hi"}


def setup_tenant(app):
    with host.tenant_context(app, T1):
        host.upsert_integration(app, T1, aad_tenant_id=AAD1, client_id="app-d1", credential_ref="env:SECRET_D1",
                                bot_app_id="bot-d1")
        assert host.capture_conversation_reference(app, T1, activity()) == "inserted"
        host.set_webhook(app, T1, "sre-room",
                         "https://prod-01.westeurope.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef"
                         "/triggers/manual/paths/invoke?api-version=1&sig=SECRETSIG")


def play_runner(db, status="sent", status_code=201, error_code=None):
    """Claim everything due and report one outcome for each (as superuser, like a runner)."""
    rows = db.execute("SELECT tenant, delivery_id, lease_id FROM msteams.claim_deliveries('host-test', 100)").fetchall()
    for t, d, lease in rows:
        db.execute("SELECT msteams.complete_delivery('host-test', %s, %s, %s, %s, %s, %s)",
                   (t, d, lease, status, status_code, error_code))
    return [d for _, d, _ in rows]


# ============================================================================ the wrappers
def test_enqueue_read_respond_as_the_host_login(app, db):
    setup_tenant(app)
    payload = cards.bot_message(cards.alert_card("Disk full", priority="critical",
                                                 delivery=cards.DeliveryRef("ticket-42", "chat", CONV)))
    with host.tenant_context(app, T1):
        first = host.enqueue_notification(app, T1, category="escalation", priority="critical",
                                          destination_type="chat", destination_id=CONV, payload=payload,
                                          internal_notification_id="ticket-42", correlation_id="req-1",
                                          event_type="disk_full")
        again = host.enqueue_notification(app, T1, category="escalation", priority="critical",
                                          destination_type="chat", destination_id=CONV, payload=payload,
                                          internal_notification_id="ticket-42")
        assert (first.status, first.duplicate, first.error_code) == ("queued", False, None)
        assert (again.delivery_id, again.duplicate) == (first.delivery_id, True)
        pending = host.get_delivery(app, T1, delivery_id=first.delivery_id)
    assert [(d.status, d.final, d.attempt_number, d.ledger_id, d.event_type, d.correlation_id)
            for d in pending] == [("pending", False, 1, None, "disk_full", "req-1")]
    assert isinstance(pending[0], host.Delivery) and pending[0].enqueued_at is not None

    assert play_runner(db) == [first.delivery_id]
    with host.tenant_context(app, T1):
        story = host.get_delivery(app, T1, internal_notification_id="ticket-42")
        assert [(d.status, d.final, d.status_code) for d in story] == [("sent", True, 201)]
        assert host.mark_delivered(app, T1, first.delivery_id) is True
        assert host.mark_delivered(app, T1, first.delivery_id) is False
        resp = host.record_response(app, T1, first.delivery_id, "acknowledge", USER, activity_id="f:1")
        dup = host.record_response(app, T1, first.delivery_id, "acknowledge", USER, activity_id="f:1")
        assert (resp.outcome, dup.outcome, dup.audit_id) == ("acknowledged", "duplicate", resp.audit_id)
        page = host.list_deliveries(app, T1, status="delivered")
        events = host.list_audit_events(app, T1).items
    assert [(d.delivery_id, d.response_action) for d in page.items] == [(first.delivery_id, "acknowledge")]
    assert page.next_cursor is None
    assert [(e.audit_id, e.action_id, e.actor_user_id, e.delivery_id) for e in events] == \
        [(resp.audit_id, "acknowledge", USER, first.delivery_id)]
    # the default input of record_response, hashed the same way in Python
    assert events[0].payload_hash == host.payload_hash({"delivery_id": first.delivery_id, "action": "acknowledge"})


def test_bulk_route_audit_and_retry(app, db):
    setup_tenant(app)
    with host.tenant_context(app, T1):
        items = [dict(category="assignment", priority="medium", destination_type="chat", destination_id=CONV,
                      payload={"type": "message", "text": f"ticket {i}"}, internal_notification_id=f"t-{i}",
                      run_at=dt.datetime.now(dt.timezone.utc))
                 for i in range(3)]
        items.append(dict(category="assignment", priority="low", destination_type="chat",
                          destination_id="bbbbbbbb-0000-4000-8000-0000000000e9", payload=BOTMSG, internal_notification_id="t-x"))
        results = host.enqueue_notifications(app, T1, items)
        assert [(r.ordinal, r.status, r.error_code) for r in results] == \
            [(1, "queued", None), (2, "queued", None), (3, "queued", None), (4, "skipped", "user_not_mapped")]
        assert host.set_route(app, T1, "sre", [{"destination_type": "webhook", "destination_id": "sre-room"},
                                               {"destination_type": "chat", "destination_id": CONV}]) == 2
        fan = host.enqueue_to_route(app, T1, "sre", category="escalation", priority="critical",
                                    payloads={"webhook": cards.webhook_message(cards.alert_card("Disk", actions=())),
                                              "chat": BOTMSG},
                                    internal_notification_id="alert-1", idempotency_key="alert-1")
        assert sorted((r.destination_type, r.status) for r in fan) == [("chat", "queued"), ("webhook", "queued")]
        audit_id = host.record_audit_event(app, T1, surface="message_extension", action_id="create_ticket_from_message",
                                           actor_user_id=USER, result_status="success",
                                           input={"message_id": "1736503200000", "board": "Support", "n": 2.50},
                                           target_type="ticket", target_id="T-1042", idempotency_key="f:8765")
        assert host.record_audit_event(app, T1, surface="message_extension", action_id="create_ticket_from_message",
                                       actor_user_id=USER, result_status="success", input={"other": 1},
                                       idempotency_key="f:8765") == audit_id
    app.commit()
    stored = db.execute("SELECT payload_hash FROM msteams.audit_events WHERE audit_id = %s", (audit_id,)).fetchone()[0]
    assert stored == host.payload_hash({"message_id": "1736503200000", "board": "Support", "n": 2.50})
    # the webhook fails for good; retry_failed queues just that destination again
    rows = db.execute("SELECT tenant, delivery_id, lease_id, transport FROM msteams.claim_deliveries('h', 100)").fetchall()
    for t, d, lease, transport in rows:
        status, code, err = ("failed", 404, "webhook_not_found") if transport == "webhook" else ("sent", 201, None)
        db.execute("SELECT msteams.complete_delivery('h', %s, %s, %s, %s, %s, %s)", (t, d, lease, status, code, err))
    with host.tenant_context(app, T1):
        retried = host.retry_failed(app, T1, "alert-1")
    assert [(r.destination_type, r.status) for r in retried] == [("webhook", "queued")]
    assert isinstance(retried[0], host.RetryResult)


def test_async_twins(app_dsn, db):
    async def main():
        async with await psycopg.AsyncConnection.connect(app_dsn) as conn:
            async with host.async_tenant_context(conn, T2):
                await host.aio.upsert_integration(conn, T2, aad_tenant_id=AAD1, bot_app_id="bot-d2",
                                                  credential_ref="env:SECRET_D2")
                ref = await host.aio.capture_conversation_reference(conn, T2, activity(conversation="a:1async"))
                r = await host.aio.enqueue_notification(conn, T2, category="sla_risk", priority="high",
                                                        destination_type="chat", destination_id="a:1async",
                                                        payload=BOTMSG, internal_notification_id="async-1")
                story = await host.aio.get_delivery(conn, T2, delivery_id=r.delivery_id)
            with pytest.raises(host.NotAllowed):
                await host.aio.get_delivery(conn, T2, delivery_id=r.delivery_id)   # no tenant context
            await conn.rollback()
            return ref, r, story
    ref, r, story = asyncio.run(main())
    assert ref == "inserted" and r.status == "queued"
    assert [d.status for d in story] == ["pending"]
    assert db.execute("SELECT count(*) FROM msteams.outbox WHERE tenant = %s", (T2,)).fetchone()[0] == 1


def test_signatures_show_the_connection_first():
    import inspect

    sig = inspect.signature(host.enqueue_notification)
    assert list(sig.parameters)[:2] == ["conn", "tenant"]
    assert "category" in sig.parameters
    assert inspect.iscoroutinefunction(host.aio.enqueue_notification)
    assert host.enqueue_notification.__doc__ and "caller's transaction" in host.enqueue_notification.__doc__


# ========================================================================== tenant context
def test_tenant_context_opens_and_commits_a_transaction(app, db):
    with host.tenant_context(app, T1) as conn:
        assert conn.execute("SELECT current_setting('msteams.tenant')").fetchone()[0] == T1
        host.upsert_integration(conn, T1, aad_tenant_id=AAD1)
    assert app.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert db.execute("SELECT count(*) FROM msteams.integrations").fetchone()[0] == 1   # committed


def test_tenant_context_inside_a_transaction_restores_the_previous_tenant(app):
    app.execute("SELECT set_config('msteams.tenant', %s, true)", (T2,))
    with host.tenant_context(app, T1):
        assert app.execute("SELECT current_setting('msteams.tenant')").fetchone()[0] == T1
    assert app.execute("SELECT current_setting('msteams.tenant')").fetchone()[0] == T2
    app.rollback()


def test_tenant_context_rolls_back_on_error(app, db):
    with pytest.raises(RuntimeError):
        with host.tenant_context(app, T1):
            host.upsert_integration(app, T1, aad_tenant_id=AAD1)
            raise RuntimeError("the business transaction failed")
    assert db.execute("SELECT count(*) FROM msteams.integrations").fetchone()[0] == 0


# ================================================================== the transactional outbox
def test_a_rolled_back_business_transaction_sends_nothing(app, db):
    setup_tenant(app)
    app.execute("CREATE TEMP TABLE tickets (id int PRIMARY KEY, status text)")
    app.execute("INSERT INTO tickets VALUES (42, 'open')")
    app.commit()
    with pytest.raises(psycopg.errors.CheckViolation):
        with host.tenant_context(app, T1):
            app.execute("UPDATE tickets SET status = 'escalated' WHERE id = 42")
            r = host.enqueue_notification(app, T1, category="escalation", priority="critical", destination_type="chat",
                                          destination_id=CONV, payload=BOTMSG, internal_notification_id="ticket-42")
            assert r.status == "queued"
            # ... and then the business transaction fails
            app.execute("ALTER TABLE tickets ADD CONSTRAINT no_escalation CHECK (status <> 'escalated')")
    for table in ("outbox", "notification_deliveries", "idempotency_keys", "dead_letter_payloads"):
        assert db.execute(f"SELECT count(*) FROM msteams.{table}").fetchone()[0] == 0, table
    assert play_runner(db) == []                     # nothing for a runner to send
    assert app.execute("SELECT status FROM tickets").fetchone()[0] == "open"
    app.rollback()
    # the key was rolled back too: the same notification enqueued again is new, not a duplicate
    with host.tenant_context(app, T1):
        again = host.enqueue_notification(app, T1, category="escalation", priority="critical", destination_type="chat",
                                          destination_id=CONV, payload=BOTMSG, internal_notification_id="ticket-42")
    assert (again.status, again.duplicate) == ("queued", False)
    assert play_runner(db) == [again.delivery_id]


# ======================================================================= exception mapping
def test_bad_values_are_invalid_argument_with_field_and_hint(app):
    setup_tenant(app)
    with host.tenant_context(app, T1):
        with pytest.raises(host.InvalidArgument) as info:
            with app.transaction():
                host.enqueue_notification(app, T1, category="escalation", priority="urgent", destination_type="chat",
                                          destination_id=CONV, payload=BOTMSG, internal_notification_id="x")
        assert (info.value.sqlstate, info.value.field) == ("22023", "priority")
        assert info.value.hint and "critical" in info.value.hint
        assert isinstance(info.value.__cause__, psycopg.Error)
        with pytest.raises(host.InvalidArgument) as info:
            with app.transaction():
                host.enqueue_notifications(app, T1, [dict(category="escalation", priority="high",
                                                          destination_type="chat", destination_id=CONV,
                                                          payload=BOTMSG, internal_notification_id=None)])
        assert info.value.sqlstate == "22004" and info.value.field == "internal_notification_id"
    with pytest.raises(host.InvalidArgument) as info:
        host.get_delivery(app, "not-a-uuid", delivery_id=1)
    assert info.value.field == "tenant"


def test_not_found_wrong_state_not_allowed(app, db):
    setup_tenant(app)
    with host.tenant_context(app, T1):
        with pytest.raises(host.NotFound) as info:
            with app.transaction():
                host.record_response(app, T1, 987654, "acknowledge", USER)
        assert info.value.sqlstate == "P0002" and info.value.field == "delivery_id"
        with pytest.raises(host.NotFound):
            with app.transaction():
                host.enqueue_to_route(app, T1, "no-such-route", category="escalation", priority="high",
                                      payloads={"chat": BOTMSG}, internal_notification_id="r")
        r = host.enqueue_notification(app, T1, category="escalation", priority="high", destination_type="chat",
                                      destination_id=CONV, payload=BOTMSG, internal_notification_id="ws")
        with pytest.raises(host.WrongState) as info:
            with app.transaction():
                host.mark_delivered(app, T1, r.delivery_id)          # not sent yet
        assert info.value.sqlstate == "55000"
    app.commit()
    play_runner(db)
    with host.tenant_context(app, T1):
        with pytest.raises(host.WrongState) as info:
            with app.transaction():
                host.record_response(app, T1, r.delivery_id, "retry", USER)   # sent: nothing to retry
        assert info.value.field == "action"
        with pytest.raises(host.NotAllowed) as info:
            with app.transaction():
                host.enqueue_notification(app, T2, category="escalation", priority="high", destination_type="chat",
                                          destination_id=CONV, payload=BOTMSG, internal_notification_id="other")
        assert info.value.sqlstate == "42501" and info.value.field == "tenant"
    with pytest.raises(host.NotAllowed):
        host.get_delivery(app, T1, delivery_id=r.delivery_id)               # reads need the tenant context
    app.rollback()


def test_mapping_follows_the_sqlstate_not_the_message(db):
    cases = [("P0002", "invalid_parameter_value: this text says 22023", host.NotFound),
             ("22023", "no_data_found: this text says P0002", host.InvalidArgument),
             ("55000", "permission denied", host.WrongState),
             ("42501", "does not exist", host.NotAllowed),
             ("22004", "object not in prerequisite state", host.InvalidArgument)]
    for state, message, expected in cases:
        with pytest.raises(psycopg.Error) as info:
            db.execute(f"DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '{state}', MESSAGE = '{message}', "
                       f"COLUMN = 'somefield', HINT = 'do this'; END $$")
        mapped = host.map_error(info.value)
        assert type(mapped) is expected, (state, type(mapped))
        assert (mapped.sqlstate, mapped.field, mapped.hint, mapped.message) == (state, "somefield", "do this", message)
    with pytest.raises(psycopg.errors.DivisionByZero) as info:
        db.execute("SELECT 1 / 0")
    assert host.map_error(info.value) is info.value            # not an API refusal: unchanged


# ============================================================================ canonical JSON
def test_the_documented_test_vector(db):
    text = ('{"b":[1,2.50,{"z":null,"a":true}],"a":"x\\ny \\u00e9","\\uff5e":0,"\\ud83d\\ude00":1e2,'
            '"aa":false,"B":-0.0}')
    assert host.canonical_json_text(text) == \
        '{"B":0.0,"a":"x\\ny é","aa":false,"b":[1,2.50,{"a":true,"z":null}],"～":0,"😀":100}'
    assert host.payload_hash_text(text) == "2a407e758eac4ea254639d8a36b1193ce69c6af25ad5a60a7a3ab963b77e7d21"
    assert db.execute("SELECT msteams.payload_hash(%s::jsonb)", (text,)).fetchone()[0] == host.payload_hash_text(text)
    assert host.payload_hash(None) == "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"


@pytest.mark.parametrize("text", ["1e131071", "1e131072", "9.9e131071", "1e-16383", "1e-16384", "0e-16384",
                                  "0e999999", "-0e-3", "1E+2", "12345678901234567890123456789.123456789e-5",
                                  '"\\u0000"', '"\\ud800"', '"a\\udc00b"', '"\\ud83d\\ude00"', '{"a":1,"a":2}',
                                  "NaN", "-Infinity", "1e1000000000", '[1, 2.0, -0, 0.00]'])
def test_python_refuses_exactly_what_jsonb_refuses(db, text):
    try:
        sql = db.execute("SELECT msteams.canonical_json(%s::jsonb)", (text,)).fetchone()[0]
    except psycopg.Error:
        sql = None
    try:
        py = host.canonical_json_text(text)
    except ValueError:
        py = None
    assert py == sql


# --- generated JSON documents, written the many ways JSON allows --------------------------
WS = st.sampled_from(["", "", " ", "\n", "\t", "\r\n ", "  "])
SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "/": "\\/"}
CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    st.sampled_from(list("\x01\x08\x0c\x1f\x7f\u0080\u2028\u2029\ufeff\uff5e/\"\\é😀\U0010fffd\ue000 \t\n")),
)


def _u(cp: int, upper: bool) -> str:
    return f"\\u{cp:04X}" if upper else f"\\u{cp:04x}"


@st.composite
def string_token(draw, max_size=12):
    s = draw(st.text(CHARS, max_size=max_size))
    out = ['"']
    for ch in s:
        how = draw(st.integers(0, 3))
        upper = draw(st.booleans())
        cp = ord(ch)
        if how == 0 or ch in '"\\' or cp < 0x20:
            if ch in SHORT and (how != 0 or cp < 0x20 or ch in '"\\') and draw(st.booleans()):
                out.append(SHORT[ch])
            elif cp > 0xFFFF:                              # astral: a surrogate pair
                v = cp - 0x10000
                out.append(_u(0xD800 + (v >> 10), upper) + _u(0xDC00 + (v & 0x3FF), upper))
            else:
                out.append(_u(cp, upper))
        elif how == 1 and ch == "/":
            out.append("\\/")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


@st.composite
def number_token(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:                                          # a Python float's repr
        return repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
    if kind == 1:                                          # big and small integers
        return str(draw(st.integers(-(10 ** 40), 10 ** 40)))
    sign = draw(st.sampled_from(["", "-"]))
    intpart = draw(st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,30}", fullmatch=True)))
    frac = draw(st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,30}", fullmatch=True)))
    exp = ""
    if draw(st.booleans()):
        exp = draw(st.sampled_from("eE")) + draw(st.sampled_from(["", "+", "-"])) + str(draw(st.integers(0, 400)))
    return sign + intpart + frac + exp


LEAF = st.one_of(st.sampled_from(["null", "true", "false"]), number_token(), string_token())


def _array(children):
    @st.composite
    def build(draw):
        items = draw(st.lists(children, max_size=5))
        return "[" + ",".join(draw(WS) + i + draw(WS) for i in items) + "]" if items else "[" + draw(WS) + "]"
    return build()


def _object(children):
    @st.composite
    def build(draw):
        pool = draw(st.lists(string_token(max_size=6), min_size=1, max_size=4))   # few keys: repeats happen
        members = draw(st.lists(st.tuples(st.sampled_from(pool) | string_token(max_size=6), children), max_size=6))
        if not members:
            return "{" + draw(WS) + "}"
        return "{" + ",".join(draw(WS) + k + draw(WS) + ":" + draw(WS) + v + draw(WS) for k, v in members) + "}"
    return build()


JSON_TEXT = st.recursive(LEAF, lambda children: st.one_of(_array(children), _object(children)), max_leaves=25)


@PROPS
@given(text=JSON_TEXT)
@example(text='{"b":[1,2.50,{"z":null,"a":true}],"a":"x\\ny \\u00e9","\\uff5e":0,"\\ud83d\\ude00":1e2}')
@example(text='{"\\u00e9":1,"e\\u0301":2,"\\u001F":"\\u001f\\/\\u007f","":[[],{}]}')
@example(text="[5e-324, 1.7976931348623157e308, -0.0, 1E-7, 100e-2, 0.000, -1e+2]")
def test_python_hash_equals_sql_for_generated_json_text(db, text):
    sql_text, sql_hash = db.execute("SELECT msteams.canonical_json(%s::jsonb), msteams.payload_hash(%s::jsonb)",
                                    (text, text)).fetchone()
    assert host.canonical_json_text(text) == sql_text
    assert host.payload_hash_text(text) == sql_hash
    assert host.payload_hash_text(text.encode("utf-8")) == sql_hash


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10 ** 30), 10 ** 30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(CHARS, max_size=12),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(CHARS, max_size=6), children, max_size=5),
    max_leaves=25)


@PROPS
@given(value=JSON_VALUE)
@example(value={"n": 2.5, "big": 10 ** 25, "tiny": 1e-7, "neg0": -0.0, "exp": 1e16, "s": "é\u2028\x1f"})
def test_python_hash_equals_sql_for_generated_python_values(db, value):
    """What a host passes to record_audit_event(input=…) is hashed in SQL as sent by psycopg;
    host.payload_hash(value) gives the same hash."""
    sql_hash = db.execute("SELECT msteams.payload_hash(%s)", (Jsonb(value),)).fetchone()[0]
    assert host.payload_hash(value) == sql_hash
    assert host.canonical_json(value) == db.execute("SELECT msteams.canonical_json(%s)", (Jsonb(value),)).fetchone()[0]


def test_canonical_json_of_values_refuses_what_jsonb_refuses():
    for bad in [float("nan"), float("inf"), "a\x00b", "\ud800", {"k": [float("-inf")]}]:
        with pytest.raises(ValueError):
            host.payload_hash(bad)
    with pytest.raises(TypeError):
        host.payload_hash({"when": dt.datetime.now()})
    assert json.loads(host.canonical_json({"b": 1, "a": [True, None]})) == {"a": [True, None], "b": 1}
