"""Property tests: generated bad arguments thrown at the host-facing SQL API, called as msteams_app.

Each example starts from a valid call and corrupts zero to three of its arguments (random text,
NULL, over-long values, random JSON, out-of-range numbers and timestamps, forged cursors), so
that every validation step is reached, not only the first. For every call the error contract of
STYLE 2.5 must hold:

* only documented SQLSTATEs come back: 22004 (a required argument is NULL), 22023 (a bad value),
  42501 (msteams.tenant names another tenant), P0002 (something referenced does not exist) and,
  for record_response which documents it, 55000 (not allowed in the current state);
* 22P02 in one place only, decided here: the tenant is passed as text and cast with ``::uuid``
  by the calling statement, so a malformed tenant fails in PostgreSQL's uuid input *before* the
  function is entered (``invalid input syntax for type uuid``). That 22P02 is allowed, and only
  when the tenant text is not a uuid; the function itself never raises 22P02;
* every other error message starts with ``<function name>: `` -- the function the host called,
  not a helper it calls internally;
* a failed call leaves no rows behind: outbox, ledger, idempotency keys and dead letters are
  counted before and after the call, inside the example's transaction;
* a payload or secret-like value -- a token ``S3CR3T…`` planted in payloads, destination ids,
  idempotency keys, notification and correlation ids, error messages, audit inputs and webhook
  URLs -- never appears in an error's message, detail, hint or context.

Every example runs in a transaction that is rolled back, on a fresh database per test function
(the ``db`` fixture); ``derandomize=True`` fixes the examples, so runs are repeatable. Cases
that once failed are pinned with ``@example``.
"""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

A1 = "00000000-0000-0000-0000-0000000000a1"
B2 = "00000000-0000-0000-0000-0000000000b2"
CATEGORIES = ["assignment", "customer_reply", "approval_request", "escalation", "sla_risk"]
PRIORITIES = ["critical", "high", "medium", "low", "info"]
DTYPES = ["user_activity", "chat", "channel", "webhook"]
STATUSES = ["sent", "delivered", "failed", "skipped"]
ACTIONS = ["acknowledge", "escalate", "retry", "discard"]
SURFACES = ["bot", "message_extension", "quick_action", "tab"]
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

WRITE_STATES = {"22004", "22023", "42501"}
PROPS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])

FEED = {"topic": {"source": "text", "value": "Ticket 42", "webUrl": "https://psa.example.com/t/42"},
        "activityType": "systemDefault", "previewText": {"content": "Ticket 42 was assigned to you"}}
BOTMSG = {"type": "message", "text": "Ticket 42 was assigned to you"}
CARD = {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                             "content": {"type": "AdaptiveCard", "version": "1.5",
                                                         "body": [{"type": "TextBlock", "text": "Disk full"}]}}]}
NOW = datetime.now(timezone.utc)

# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------

# Text PostgreSQL can hold: no NUL, no lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
LONG = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "€", "x-"]), st.integers(200, 1100))
SECRET = st.text(alphabet="0123456789abcdef", min_size=10, max_size=10).map(lambda h: "S3CR3T" + h)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
DATETIMES = st.datetimes(timezones=st.just(timezone.utc))
SOON = st.integers(-600, 3600).map(lambda s: NOW + timedelta(seconds=s))
LATER = st.integers(7200, 10**7).map(lambda s: NOW + timedelta(seconds=s))
# Timestamps as text (how the bulk form carries them), the edges of PostgreSQL's range included.
TS_TEXT = st.one_of(
    st.sampled_from(["294276-12-30 00:00:00+00", "294276-12-31 23:59:59+00", "infinity", "-infinity",
                     "4713-01-01 00:00:00+00 BC", "epoch", "tomorrow", "2030-01-01T00:00:00Z",
                     "2030-02-30", "next tuesday", "", "1e9"]),
    DATETIMES.map(lambda d: d.isoformat()),
    TEXT,
)
INT32 = st.integers(-(2**31), 2**31 - 1)
BAD_TENANT = st.one_of(st.none(), st.sampled_from([B2, "00000000-0000-0000-0000-0000000000f6"]),
                       st.uuids().map(str), TEXT.filter(lambda s: s.strip() != ""))
BAD_WRITE_CONTEXT = st.sampled_from([B2, A1])        # A1: the same tenant, allowed


@st.composite
def corrupt(draw, good, bad, max_fields=3):
    """A valid argument dict with up to max_fields of its arguments replaced by bad values."""
    args = dict(good)
    for name in draw(st.lists(st.sampled_from(sorted(bad)), max_size=max_fields, unique=True)):
        args[name] = draw(bad[name])
    return args


def tenant_is_text(tenant):
    return tenant is not None and not UUID_TEXT.fullmatch(tenant)


def destinations(secret):
    """(destination_type, destination_id, payload) triples an enqueue accepts."""
    return st.sampled_from([
        ("user_activity", "u@a1.example", {**FEED, "previewText": {"content": f"hello {secret}"}}),
        ("user_activity", "aaaaaaaa-0000-0000-0000-000000000001", FEED),
        ("user_activity", f"{secret}@contoso.example", FEED),
        ("chat", "a:personal-1", {**BOTMSG, "text": f"hello {secret}"}),
        ("chat", "aaaaaaaa-0000-0000-0000-00000000000f", BOTMSG),        # unmapped: skipped
        ("chat", "19:chat-id", FEED),                                      # Graph to a chat
        ("channel", "19:room@thread.tacv2", BOTMSG),
        ("webhook", "sre-room", CARD),
        ("webhook", "no-such-hook", CARD),                                 # unregistered: skipped
    ])


def bad_destination_id(secret):
    return st.one_of(
        st.none(), st.just(""), TEXT, LONG,
        st.just(f"https://prod-01.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig={secret}"),
        st.just(f"a:{secret}"), st.just(f"{secret} not an id"), st.just(f"19:{secret} x"),
        st.sampled_from(["u@a1.example", "a:personal-1", "19:room@thread.tacv2", "sre-room"]),
    )


def bad_payload(secret):
    return st.one_of(
        st.none(), JSON, st.just(secret), st.just([secret]),
        st.sampled_from([FEED, BOTMSG, CARD]),                             # the wrong shape for the destination
        st.just({"type": "message", "text": secret * 9000}),               # over every size limit
        st.just({"type": "message", "attachments": [{"contentType": "text/plain", "content": secret}]}),
        st.just({"topic": {"source": "text", "value": secret}, "activityType": "x", "previewText": {"content": "c"}}),
        JSON.map(lambda j: {"data": j, "secret": secret}),
    )


# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------

COUNT_SQL = """SELECT (SELECT count(*) FROM msteams.outbox), (SELECT count(*) FROM msteams.notification_deliveries),
                      (SELECT count(*) FROM msteams.idempotency_keys), (SELECT count(*) FROM msteams.dead_letter_payloads)"""


@pytest.fixture
def api(db):
    """The test database with two active tenants, a conversation, a webhook, a route and deliveries in
    several states (sent, waiting for a retry, failed for good, queued) to respond to. Committed
    once per test function; every example is rolled back."""
    db.execute(f"""
        INSERT INTO msteams.integrations (tenant, install_status, addon_active, aad_tenant_id, client_id, credential_ref, bot_app_id)
        VALUES ('{A1}', 'active', true, '11111111-1111-1111-1111-111111111111', 'app-a1', 'env:SECRET_A1', 'bot-a1'),
               ('{B2}', 'active', true, '22222222-2222-2222-2222-222222222222', 'app-b2', 'env:SECRET_B2', 'bot-b2')""")
    db.execute(f"""
        INSERT INTO msteams.conversation_references (tenant, microsoft_user_id, conversation_id, service_url, conversation_type)
        VALUES ('{A1}', 'aaaaaaaa-0000-0000-0000-000000000001', 'a:personal-1', 'https://smba.trafficmanager.net/amer/', 'personal'),
               ('{A1}', 'aaaaaaaa-0000-0000-0000-000000000002', '19:room@thread.tacv2', 'https://smba.trafficmanager.net/amer/', 'channel')""")
    db.execute(f"""
        INSERT INTO msteams.webhooks (tenant, webhook_name, url)
        VALUES ('{A1}', 'sre-room', 'https://prod-01.westeurope.logic.azure.com/workflows/0/triggers/manual/paths/invoke?sig=FIXTURESIG')""")
    db.execute(f"""
        INSERT INTO msteams.routes (tenant, route, destination_type, destination_id)
        VALUES ('{A1}', 'sre', 'webhook', 'sre-room'), ('{A1}', 'sre', 'user_activity', 'aaaaaaaa-0000-0000-0000-000000000001'),
               ('{A1}', 'sre', 'chat', 'a:personal-1')""")
    ids = {}
    for name, dest, prio in (("sent", "sent@a1.example", "critical"), ("dead", "dead@a1.example", "high"),
                             ("waiting", "waiting@a1.example", "low")):
        ids[name] = db.execute(
            "SELECT delivery_id FROM msteams.enqueue_notification(%s, 'assignment', %s, 'user_activity', %s, %s, %s)",
            [A1, prio, dest, Jsonb(FEED), f"fixture-{name}"]).fetchone()[0]
    outcome = {ids["sent"]: ("sent", None), ids["dead"]: ("failed", "graph_not_found"),
               ids["waiting"]: ("failed", "graph_throttled")}
    for delivery_id, lease_id in db.execute(
            "SELECT delivery_id, lease_id FROM msteams.claim_deliveries('fixture-runner', 10)").fetchall():
        status, code = outcome[delivery_id]
        db.execute("SELECT msteams.complete_delivery('fixture-runner', %s, %s, %s, %s, p_error_code => %s)",
                   [A1, delivery_id, lease_id, status, code])
    ids["queued"] = db.execute(
        "SELECT delivery_id FROM msteams.enqueue_notification(%s, 'assignment', 'high', 'user_activity', 'q@a1.example', %s, 'fixture-queued')",
        [A1, Jsonb(FEED)]).fetchone()[0]
    return db, ids


def call(conn, sql, params, context=None):
    """Run one statement as msteams_app (msteams.tenant = context) inside a transaction that is rolled
    back. Returns (error or None, rows, counts before, counts after)."""
    rows = err = None
    with conn.transaction(force_rollback=True):
        before = conn.execute(COUNT_SQL).fetchone()
        conn.execute("SET LOCAL ROLE msteams_app")
        if context is not None:
            conn.execute("SELECT set_config('msteams.tenant', %s, true)", [context])
        try:
            with conn.transaction():                       # a savepoint: only the failed call is undone
                rows = conn.execute(sql, params).fetchall()
        except psycopg.Error as e:
            err = e
        conn.execute("RESET ROLE")
        after = conn.execute(COUNT_SQL).fetchone()
    event("ok" if err is None else f"error {err.sqlstate}")       # see --hypothesis-show-statistics
    return err, rows, before, after


def check_error(function, err, before, after, *, allowed, secrets, tenant):
    """The error contract (see the module docstring)."""
    state, diag = err.sqlstate, err.diag
    shown = " | ".join(t or "" for t in (diag.message_primary, diag.message_detail, diag.message_hint, diag.context))
    assert state is not None, f"{function}: a client-side error, not the server's: {err!r}"
    assert after == before, f"{function}: a failed call ({state}) left rows behind: {before} -> {after}"
    for secret in secrets:
        assert secret not in shown, f"{function}: the error shows a secret-like value: {shown}"
    if state == "22P02" and tenant_is_text(tenant):
        assert diag.message_primary.startswith("invalid input syntax for type uuid"), diag.message_primary
        return
    assert state in allowed, f"{function}: undocumented SQLSTATE {state}: {diag.message_primary}"
    assert diag.message_primary.startswith(f"{function}: "), \
        f"{function}: the message does not name the function called: {diag.message_primary!r}"


def jsonb(value):
    return None if value is None else Jsonb(value)


# ---------------------------------------------------------------------------------------------
# enqueue_notification
# ---------------------------------------------------------------------------------------------

@st.composite
def enqueue_args(draw):
    secret = draw(SECRET)
    dtype, did, body = draw(destinations(secret))
    good = {"tenant": A1, "context": draw(st.sampled_from([None, A1])),
            "category": draw(st.sampled_from(CATEGORIES)), "priority": draw(st.sampled_from(PRIORITIES)),
            "dtype": dtype, "did": did, "payload": body, "inid": f"n-{secret}",
            "key": draw(st.sampled_from([None, f"k-{secret}"])), "corr": draw(st.sampled_from([None, f"c-{secret}"])),
            "event": draw(st.sampled_from([None, "ticket_assigned"])), "run_at": draw(st.none() | SOON),
            "expires_at": draw(st.none() | LATER)}
    bad = {"tenant": BAD_TENANT, "context": BAD_WRITE_CONTEXT,
           "category": st.none() | TEXT | LONG, "priority": st.none() | TEXT | st.sampled_from(["urgent", "HIGH"]),
           "dtype": st.none() | TEXT | st.sampled_from(DTYPES), "did": bad_destination_id(secret),
           "payload": bad_payload(secret),
           "inid": st.none() | st.just("") | LONG.map(lambda s: s + secret),
           "key": st.just("") | LONG.map(lambda s: secret + s),
           "corr": LONG.map(lambda s: secret + s), "event": LONG,
           "run_at": DATETIMES, "expires_at": DATETIMES | SOON}
    return {**draw(corrupt(good, bad)), "secret": secret}


ENQUEUE_ONE = """
    SELECT e.delivery_id, e.status, e.error_code, e.duplicate
      FROM msteams.enqueue_notification(%(tenant)s::uuid, %(category)s::text, %(priority)s::text, %(dtype)s::text,
               %(did)s::text, %(payload)s::jsonb, %(inid)s::text, %(key)s::text, %(corr)s::text, %(event)s::text,
               %(run_at)s::timestamptz, %(expires_at)s::timestamptz) AS e"""


@PROPS
@given(args=enqueue_args())
def test_enqueue_notification_error_contract(api, args):
    conn, _ = api
    err, rows, before, after = call(conn, ENQUEUE_ONE, {**args, "payload": jsonb(args["payload"])}, args["context"])
    if err is None:
        assert len(rows) == 1 and rows[0][1] in ("queued", "skipped")
        return
    check_error("enqueue_notification", err, before, after, allowed=WRITE_STATES, secrets=[args["secret"]],
                tenant=args["tenant"])


# ---------------------------------------------------------------------------------------------
# enqueue_notifications
# ---------------------------------------------------------------------------------------------

@st.composite
def delivery_item(draw, secret):
    """One element of an enqueue_notifications array: a valid delivery object with up to two fields
    corrupted, removed or added, or (rarely) not an object at all."""
    dtype, did, body = draw(destinations(secret))
    good = {"category": draw(st.sampled_from(CATEGORIES)), "priority": draw(st.sampled_from(PRIORITIES)),
            "destination_type": dtype, "destination_id": did, "payload": body,
            "internal_notification_id": draw(st.sampled_from(["n-1", "n-2", f"n-{secret}"]))}
    for name, value in (("idempotency_key", f"k-{secret}"), ("correlation_id", f"c-{secret}"),
                        ("event_type", "ticket_assigned"), ("run_at", (NOW + timedelta(minutes=5)).isoformat()),
                        ("expires_at", (NOW + timedelta(days=2)).isoformat())):
        if draw(st.booleans()):
            good[name] = value
    missing = object()
    bad = {"category": st.none() | TEXT | st.just(missing), "priority": st.none() | TEXT | st.just(missing),
           "destination_type": st.none() | TEXT | st.sampled_from(DTYPES) | st.just(missing),
           "destination_id": bad_destination_id(secret) | st.just(missing),
           "payload": bad_payload(secret) | st.just(missing),
           "internal_notification_id": st.none() | st.just("") | LONG | st.just(missing),
           "idempotency_key": st.just("") | LONG.map(lambda s: secret + s) | JSON,
           "correlation_id": LONG.map(lambda s: secret + s), "event_type": LONG,
           "run_at": TS_TEXT, "expires_at": TS_TEXT,
           "unknown field": JSON}
    item = {k: v for k, v in draw(corrupt(good, bad, max_fields=2)).items() if v is not missing}
    kind = draw(st.integers(0, 30))
    return draw(JSON) if kind == 0 else None if kind == 1 else item


@st.composite
def bulk_args(draw):
    secret = draw(SECRET)
    good = {"tenant": A1, "context": None, "deliveries": draw(st.lists(delivery_item(secret), min_size=1, max_size=4))}
    bad = {"tenant": BAD_TENANT, "context": BAD_WRITE_CONTEXT,
           "deliveries": st.none() | JSON | st.just([]) | st.just({"deliveries": []})}
    return {**draw(corrupt(good, bad, max_fields=1)), "secret": secret}


def _valid_item(n, **extra):
    return {"category": "assignment", "priority": "high", "destination_type": "user_activity",
            "destination_id": f"u{n}@a1.example", "payload": FEED, "internal_notification_id": f"n-{n}", **extra}


@PROPS
@given(args=bulk_args())
@example(args={"tenant": A1, "context": None, "secret": "S3CR3T0000000000",
               "deliveries": [{} for _ in range(10001)]})                             # over the 10,000 limit
@example(args={"tenant": A1, "context": None, "secret": "S3CR3T0000000001",          # run_at at the edge of the
               "deliveries": [_valid_item(1), _valid_item(2, run_at="294276-12-30 00:00:00+00")]})  # timestamp range
def test_enqueue_notifications_error_contract(api, args):
    conn, _ = api
    deliveries = args["deliveries"]
    err, rows, before, after = call(
        conn, "SELECT e.ordinal, e.status FROM msteams.enqueue_notifications(%(tenant)s::uuid, %(deliveries)s::jsonb) AS e",
        {"tenant": args["tenant"], "deliveries": jsonb(deliveries)}, args["context"])
    if err is None:
        assert isinstance(deliveries, list)
        assert [r[0] for r in rows] == list(range(1, len(deliveries) + 1)), "one row per input, in order"
        return
    check_error("enqueue_notifications", err, before, after, allowed=WRITE_STATES, secrets=[args["secret"]],
                tenant=args["tenant"])
    message = err.diag.message_primary
    if err.sqlstate in ("22004", "22023") and isinstance(deliveries, list) and 0 < len(deliveries) <= 10000:
        # a problem of one delivery names it: deliveries[n].field
        assert (message.startswith("enqueue_notifications: deliveries[")
                or message == "enqueue_notifications: tenant must not be null"), message


# ---------------------------------------------------------------------------------------------
# enqueue_to_route
# ---------------------------------------------------------------------------------------------

@st.composite
def route_args(draw):
    secret = draw(SECRET)
    good = {"tenant": A1, "context": None, "route": "sre", "category": draw(st.sampled_from(CATEGORIES)),
            "priority": draw(st.sampled_from(PRIORITIES)),
            "payloads": {"webhook": CARD, "user_activity": {**FEED, "previewText": {"content": secret}},
                         "chat": {**BOTMSG, "text": secret}},
            "inid": f"n-{secret}", "key": draw(st.sampled_from([None, f"k-{secret}"])),
            "run_at": draw(st.none() | SOON), "expires_at": draw(st.none() | LATER)}
    bad = {"tenant": BAD_TENANT, "context": BAD_WRITE_CONTEXT,
           "route": st.none() | TEXT | st.just("nowhere"),
           "category": st.none() | TEXT, "priority": st.none() | TEXT,
           "payloads": st.one_of(st.none(), JSON, st.just({"webhook": CARD}),
                                 st.fixed_dictionaries({"webhook": bad_payload(secret), "user_activity": bad_payload(secret),
                                                        "chat": bad_payload(secret)})),
           "inid": st.none() | st.just("") | LONG, "key": st.just("") | LONG.map(lambda s: secret + s),
           "run_at": DATETIMES, "expires_at": DATETIMES | SOON}
    return {**draw(corrupt(good, bad)), "secret": secret}


@PROPS
@given(args=route_args())
def test_enqueue_to_route_error_contract(api, args):
    conn, _ = api
    err, rows, before, after = call(conn, """
        SELECT e.destination_type, e.status FROM msteams.enqueue_to_route(%(tenant)s::uuid, %(route)s::text,
            %(category)s::text, %(priority)s::text, %(payloads)s::jsonb, %(inid)s::text, %(key)s::text,
            p_run_at => %(run_at)s::timestamptz, p_expires_at => %(expires_at)s::timestamptz) AS e""",
        {**args, "payloads": jsonb(args["payloads"])}, args["context"])
    if err is None:
        assert sorted(r[0] for r in rows) == ["chat", "user_activity", "webhook"]
        return
    check_error("enqueue_to_route", err, before, after, allowed=WRITE_STATES | {"P0002"}, secrets=[args["secret"]],
                tenant=args["tenant"])


# ---------------------------------------------------------------------------------------------
# record_delivery
# ---------------------------------------------------------------------------------------------

@st.composite
def record_args(draw):
    secret = draw(SECRET)
    dtype, did, _ = draw(destinations(secret))
    status = draw(st.sampled_from(STATUSES))
    good = {"tenant": A1, "context": None, "inid": f"n-{secret}", "category": draw(st.sampled_from(CATEGORIES)),
            "priority": draw(st.sampled_from(PRIORITIES)), "dtype": dtype, "did": did, "status": status,
            "attempt": draw(st.integers(1, 5)), "status_code": draw(st.sampled_from([None, 200, 201, 429, 503])),
            "error_code": draw(st.sampled_from(["transient", "graph_throttled", "user_not_mapped"]))
            if status in ("failed", "skipped") else None,
            "error_message": f"failed with {secret}" if status == "failed" else None,
            "provider_message_id": None, "corr": draw(st.sampled_from([None, f"c-{secret}"])), "event": None,
            "sent_at": draw(st.none() | SOON)}
    bad = {"tenant": BAD_TENANT, "context": BAD_WRITE_CONTEXT,
           "inid": st.none() | st.just("") | LONG, "category": st.none() | TEXT, "priority": st.none() | TEXT,
           "dtype": st.none() | TEXT | st.sampled_from(DTYPES), "did": bad_destination_id(secret),
           "status": st.none() | TEXT | st.sampled_from(STATUSES), "attempt": st.none() | INT32 | st.integers(-2, 0),
           "status_code": INT32 | st.integers(0, 700),
           "error_code": st.none() | TEXT | st.sampled_from(["transient", "expired"]),
           "error_message": LONG.map(lambda s: secret + s) | st.just(f"failed with {secret}"),
           "provider_message_id": TEXT | LONG, "corr": LONG.map(lambda s: secret + s), "event": LONG,
           "sent_at": DATETIMES | st.none()}
    return {**draw(corrupt(good, bad)), "secret": secret}


@PROPS
@given(args=record_args())
def test_record_delivery_error_contract(api, args):
    conn, _ = api
    err, rows, before, after = call(conn, """
        SELECT r.delivery_id, r.recorded FROM msteams.record_delivery(%(tenant)s::uuid, %(inid)s::text, %(category)s::text,
            %(priority)s::text, %(dtype)s::text, %(did)s::text, %(status)s::text, %(attempt)s::integer,
            %(status_code)s::integer, %(error_code)s::text, %(error_message)s::text, %(provider_message_id)s::text,
            NULL::text, %(corr)s::text, %(event)s::text, %(sent_at)s::timestamptz) AS r""",
        args, args["context"])
    if err is None:
        assert rows[0][0] is not None and rows[0][1] is True
        return
    check_error("record_delivery", err, before, after, allowed=WRITE_STATES, secrets=[args["secret"]],
                tenant=args["tenant"])


# ---------------------------------------------------------------------------------------------
# record_response
# ---------------------------------------------------------------------------------------------

@st.composite
def response_args(draw):
    secret = draw(SECRET)
    good = {"tenant": A1, "context": None, "delivery": draw(st.sampled_from(["sent", "dead", "waiting", "queued"])),
            "action": draw(st.sampled_from(ACTIONS)), "actor": "user-1", "surface": draw(st.sampled_from(SURFACES)),
            "activity": draw(st.sampled_from([None, "invoke-1"])), "corr": draw(st.sampled_from([None, "corr-1"])),
            "input": draw(st.sampled_from([None, {"note": secret}])), "responded_at": "omitted"}
    bad = {"tenant": BAD_TENANT, "context": BAD_WRITE_CONTEXT,
           "delivery": st.none() | st.integers(-(2**63), 2**63 - 1),
           "action": st.none() | TEXT, "actor": st.none() | st.just("") | TEXT | LONG,
           "surface": st.none() | TEXT, "activity": TEXT | LONG, "corr": LONG,
           "input": JSON.map(lambda j: {"note": secret, "data": j}), "responded_at": st.none() | DATETIMES}
    return {**draw(corrupt(good, bad)), "secret": secret}


def _response(**changes):
    return {"tenant": A1, "context": None, "secret": "S3CR3T0000000002", "delivery": "sent", "action": "acknowledge",
            "actor": "user-1", "surface": "bot", "activity": None, "corr": None, "input": None,
            "responded_at": "omitted", **changes}


@PROPS
@given(args=response_args())
# Arguments record_response hands on to record_audit_event: its errors must still be record_response's.
@example(args=_response(surface="email"))
@example(args=_response(activity="i" * 300))
@example(args=_response(actor="u" * 1100))
@example(args=_response(corr="c" * 300))
def test_record_response_error_contract(api, args):
    conn, ids = api
    delivery = ids.get(args["delivery"]) if isinstance(args["delivery"], str) else args["delivery"]
    sql = """SELECT r.audit_id, r.outcome FROM msteams.record_response(%(tenant)s::uuid, %(delivery)s::bigint,
                 %(action)s::text, %(actor)s::text, %(surface)s::text, %(activity)s::text, %(corr)s::text,
                 %(input)s::jsonb""" + (", %(responded_at)s::timestamptz" if args["responded_at"] != "omitted" else "") + ") AS r"
    err, rows, before, after = call(conn, sql, {**args, "delivery": delivery, "input": jsonb(args["input"])}, args["context"])
    if err is None:
        assert rows[0][1] in ("acknowledged", "escalated", "requeued", "still_skipped", "discarded", "duplicate")
        return
    check_error("record_response", err, before, after, allowed=WRITE_STATES | {"P0002", "55000"},
                secrets=[args["secret"]], tenant=args["tenant"])


# ---------------------------------------------------------------------------------------------
# list_deliveries / list_audit_events: limits and cursors
# ---------------------------------------------------------------------------------------------

B64URL = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=60)
MICROS = st.one_of(st.integers(-(10**18) + 1, 10**18 - 1).map(str),
                   st.sampled_from(["-999999999999999999", "999999999999999999", "0", "-0", "1e6", "", "x"]))


# A cursor in the documented format with the right filter digest, and generated created_at
# microseconds and id: built in SQL from the same arguments as the call (see _forged).
FORGED = st.builds(lambda micros, id_: ("forged", micros, id_), MICROS, st.integers(0, 10**18 - 1).map(str) | TEXT)


def list_good_bad(extra_good, extra_bad):
    good = {"tenant": A1, "context": A1, "limit": 50, "since": None, "cursor": None, **extra_good}
    bad = {"tenant": BAD_TENANT, "context": st.sampled_from([None, B2]),
           "limit": st.none() | st.integers(-2, 202) | INT32, "since": DATETIMES,
           "cursor": TEXT | B64URL | LONG | FORGED, **extra_bad}
    return good, bad


def list_params(args):
    """The SQL parameters of a list call: a ("forged", micros, id) cursor becomes forge/micros/id."""
    cursor = args["cursor"]
    if isinstance(cursor, tuple):
        return {**args, "cursor": None, "forge": True, "micros": cursor[1], "id": cursor[2]}
    return {**args, "forge": False, "micros": None, "id": None}


def _forged(scope, filters_sql):
    return f"""CASE WHEN %(forge)s THEN rtrim(translate(encode(convert_to(concat_ws('|', 'v1', '{scope}',
                   substr(encode(sha256(convert_to(({filters_sql})::text, 'UTF8')), 'hex'), 1, 16),
                   %(micros)s::text, %(id)s::text), 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')
               ELSE %(cursor)s::text END"""


_FORGED_ANCIENT = {"tenant": A1, "context": A1, "limit": 10, "since": None,
                   "cursor": ("forged", "-999999999999999999", "1")}      # a well-formed cursor from 29,700 BC


@st.composite
def deliveries_list_args(draw):
    good, bad = list_good_bad({"status": None, "category": None},
                              {"status": TEXT | st.sampled_from(STATUSES), "category": TEXT | st.sampled_from(CATEGORIES)})
    return draw(corrupt(good, bad))


@PROPS
@given(args=deliveries_list_args())
@example(args={**_FORGED_ANCIENT, "status": None, "category": None})
def test_list_deliveries_error_contract(api, args):
    conn, _ = api
    filters = "jsonb_build_array(%(tenant)s::uuid, %(status)s::text, %(category)s::text, extract(epoch FROM %(since)s::timestamptz))"
    err, rows, before, after = call(conn, f"""
        SELECT count(*) FROM msteams.list_deliveries(%(tenant)s::uuid, %(status)s::text, %(category)s::text,
            %(since)s::timestamptz, %(limit)s::integer, {_forged('deliveries', filters)})""", list_params(args), args["context"])
    if err is None:
        return
    check_error("list_deliveries", err, before, after, allowed=WRITE_STATES, secrets=[], tenant=args["tenant"])


@st.composite
def audit_list_args(draw):
    good, bad = list_good_bad({"surface": None, "action": None, "actor": None, "result": None},
                              {"surface": TEXT | st.sampled_from(SURFACES), "action": TEXT | st.sampled_from(ACTIONS),
                               "actor": TEXT | st.just(" "), "result": TEXT | st.sampled_from(["success", "failure"])})
    return draw(corrupt(good, bad))


@PROPS
@given(args=audit_list_args())
@example(args={**_FORGED_ANCIENT, "surface": None, "action": None, "actor": None, "result": None})
def test_list_audit_events_error_contract(api, args):
    conn, _ = api
    filters = ("jsonb_build_array(%(tenant)s::uuid, %(surface)s::text, %(action)s::text, %(actor)s::text, %(result)s::text, "
               "extract(epoch FROM %(since)s::timestamptz))")
    err, rows, before, after = call(conn, f"""
        SELECT count(*) FROM msteams.list_audit_events(%(tenant)s::uuid, %(surface)s::text, %(action)s::text,
            %(actor)s::text, %(result)s::text, %(since)s::timestamptz, %(limit)s::integer,
            {_forged('audit_events', filters)})""", list_params(args), args["context"])
    if err is None:
        return
    check_error("list_audit_events", err, before, after, allowed=WRITE_STATES, secrets=[], tenant=args["tenant"])
