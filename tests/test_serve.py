"""`pgteams serve` over real HTTP: uvicorn on 127.0.0.1 in a thread, activities signed by the sandbox.

The endpoint verifies every Bot Framework JWT against the sandbox's OpenID metadata (HTTPS on
loopback, the sandbox's CA), captures conversation references, records card actions through
msteams.record_response and answers with the redrawn card. It connects as a login that is only a
member of msteams_app. Every refusal (401) is checked to leave nothing behind: no reference, no
audit event.
"""

from __future__ import annotations

import logging
import uuid

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from psycopg.types.json import Jsonb

from pgteams import host
from pgteams.host import cards
from pgteams.sandbox import Sandbox, TeamsUser
from pgteams.serve import BackgroundServer, ServeSettings, build_app

SERVE_LOGIN = "pgteams_serve_test"
TENANT_A, TENANT_B = "00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000b2"
AAD_A, AAD_B = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
BOT_A, BOT_B = "bot-app-a", "bot-app-b"
CONV, CONV_BOB = "a:1personal-chat-ada", "a:1personal-chat-bob"
ADA = TeamsUser("aaaaaaaa-0000-4000-8000-00000000ada1", "Ada Lovelace")
BOB = TeamsUser("bbbbbbbb-0000-4000-8000-00000000b0b1", "Bob Kahn")
SECRET_TEXT = "the text of the message, never logged"


@pytest.fixture(scope="module")
def sb():
    with Sandbox(enforce_limits=False) as sandbox:
        sandbox.add_tenant(AAD_A, client_id=BOT_A, client_secret="sa", bot_app_id=BOT_A)
        sandbox.add_tenant(AAD_B, client_id=BOT_B, client_secret="sb", bot_app_id=BOT_B)
        sandbox.add_conversation(AAD_A, CONV, bot_app_ids=[BOT_A])
        sandbox.add_conversation(AAD_A, CONV_BOB, bot_app_ids=[BOT_A])
        yield sandbox


@pytest.fixture(scope="module")
def serve_login(cluster, template_db):
    """A login that is a member of msteams_app and nothing else (roles are cluster-wide)."""
    with cluster.admin() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (SERVE_LOGIN,)).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {SERVE_LOGIN} LOGIN")
        conn.execute(f"GRANT msteams_app TO {SERVE_LOGIN}")
    return SERVE_LOGIN


@pytest.fixture
def tenants(db):
    host.upsert_integration(db, TENANT_A, aad_tenant_id=AAD_A, client_id=BOT_A, credential_ref="env:SECRET_A",
                            bot_app_id=BOT_A)
    host.upsert_integration(db, TENANT_B, aad_tenant_id=AAD_B, client_id=BOT_B, credential_ref="env:SECRET_B",
                            bot_app_id=BOT_B)
    return db


@pytest.fixture
def endpoint(sb, cluster, dbname, serve_login, tenants):
    settings = ServeSettings(dsn=cluster.dsn(dbname, user=serve_login),
                             openid_metadata_url=sb.bot_openid_metadata_url, ca_file=sb.ca_file,
                             pool_min_size=1, pool_max_size=4)
    with BackgroundServer(build_app(settings)) as server:
        yield server.url + settings.path


def conv(sb):
    return sb.inbound(CONV)


def recorded(db) -> tuple[int, int]:
    refs = db.execute("SELECT count(*) FROM msteams.conversation_references").fetchone()[0]
    audits = db.execute("SELECT count(*) FROM msteams.audit_events").fetchone()[0]
    return refs, audits


def reference_status(db, conversation_id=CONV) -> str:
    row = db.execute("SELECT status FROM msteams.conversation_references WHERE tenant = %s AND conversation_id = %s",
                     (TENANT_A, conversation_id)).fetchone()
    return row[0] if row else None


def card_delivery(db, sb, title="Disk full on db-1", priority="critical", inid=None):
    """Enqueue a card alert to the personal chat (as the host would) and return (delivery_id, card)."""
    inid = inid or f"alert-{uuid.uuid4().hex[:8]}"
    card = cards.alert_card(title, priority=priority, facts={"Host": "db-1"},
                            delivery=cards.DeliveryRef(inid, "chat", CONV), actions=cards.CARD_ACTIONS)
    result = host.enqueue_notification(db, TENANT_A, category="escalation", priority=priority,
                                       destination_type="chat", destination_id=CONV,
                                       payload=cards.bot_message(card), internal_notification_id=inid)
    assert result.status == "queued", result
    return result.delivery_id, card


def finish(db, *delivery_ids, status="sent", status_code=201, error_code=None):
    """Play the runner: claim the deliveries and report one outcome for each (returns the last)."""
    rows = db.execute("SELECT tenant, delivery_id, lease_id FROM msteams.claim_deliveries('test-runner', 100)").fetchall()
    lease = {d: (t, lease) for t, d, lease in rows}
    assert set(delivery_ids) <= set(lease), rows
    out = None
    for delivery_id in delivery_ids:
        t, lease_id = lease[delivery_id]
        out = db.execute("SELECT outcome FROM msteams.complete_delivery('test-runner', %s, %s, %s, %s, %s, %s)",
                         (t, delivery_id, lease_id, status, status_code, error_code)).fetchone()[0]
    return out


def capture_first(sb, endpoint, db):
    r = sb.post_activity(endpoint, conv(sb).message(ADA, "hello"), bot_app_id=BOT_A)
    assert r.status_code == 200, r.text
    assert reference_status(db) == "active"


# ---------------------------------------------------------------------------- references
def test_valid_message_captures_the_reference(sb, endpoint, db, caplog):
    caplog.set_level(logging.DEBUG, logger="pgteams.serve")
    activity = conv(sb).message(ADA, SECRET_TEXT)
    r = sb.post_activity(endpoint, activity, bot_app_id=BOT_A)
    assert r.status_code == 200, r.text
    row = db.execute("""SELECT tenant::text, microsoft_user_id, service_url, conversation_type, aad_tenant_id, bot_id,
                               user_teams_id, status
                          FROM msteams.conversation_references""").fetchall()
    assert row == [(TENANT_A, ADA.aad_object_id, activity["serviceUrl"], "personal", AAD_A, f"28:{BOT_A}",
                    ADA.id, "active")]
    # the log names what happened, never the text or the token
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "reference=inserted" in logged and TENANT_A in logged
    assert SECRET_TEXT not in logged
    token = sb.inbound_token(BOT_A, activity["serviceUrl"])
    assert token.split(".")[2] not in logged and "Bearer" not in logged


def test_the_endpoint_login_sees_bot_ids_only(sb, endpoint, cluster, dbname, serve_login, tenants):
    """serve's login (msteams_app) finds the tenant through lookup_bot_tenants, which answers the
    bot app id and nothing else; without a tenant context it sees no integration row, and it can
    never read a webhook URL (the secret)."""
    with psycopg.connect(cluster.dsn(dbname, user=serve_login), autocommit=True) as conn:
        rows = conn.execute("SELECT * FROM msteams.lookup_bot_tenants(%s)", (AAD_A.upper(),)).fetchall()
        assert rows == [(uuid.UUID(TENANT_A), BOT_A, "active")]
        assert conn.execute("SELECT count(*) FROM msteams.integrations").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT url FROM msteams.webhooks")


def _foreign_key_token(sb, service_url):
    """Signed with a key the Bot Framework never published, under the sandbox key's kid."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = sb.jwks["keys"][0]["kid"]
    return jwt.encode({"iss": "https://api.botframework.com", "aud": BOT_A, "serviceurl": service_url,
                       "nbf": 0, "exp": 4102444800}, key, algorithm="RS256", headers={"kid": kid})


REFUSALS = {   # case: (how the request is made, why the endpoint must say it refused)
    "unsigned": (dict(sign=False), "no bearer token"),
    "not a jwt": (dict(token="not-a-jwt"), "not a JWT"),
    "expired": (dict(expires_in=-3600), "expired"),
    "wrong audience": (dict(bot_app_id="some-other-bot"), "not for this tenant's bot"),
    "another tenant's app": (dict(bot_app_id=BOT_B), "not for this tenant's bot"),
    "wrong issuer": (dict(issuer="https://login.microsoftonline.com/evil/v2.0"), "wrong issuer"),
    "wrong serviceUrl claim": (dict(claims={"serviceurl": "https://smba.trafficmanager.net/evil/"}),
                               "serviceUrl does not match"),
    "alg none": (dict(token=jwt.encode({"iss": "https://api.botframework.com", "aud": BOT_A, "exp": 4102444800},
                                       None, algorithm="none")), "is not RS256"),
    "unpublished key": (dict(token="FOREIGN"), "InvalidSignatureError"),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
@pytest.mark.parametrize("kind", ["message", "card action"])
def test_refused_requests_record_nothing(sb, endpoint, db, case, kind, caplog):
    caplog.set_level(logging.INFO, logger="pgteams.serve")
    options, reason = dict(REFUSALS[case][0]), REFUSALS[case][1]
    bot = options.pop("bot_app_id", BOT_A)
    delivery_id = None
    if kind == "card action":
        # a real, sent delivery, so that only authentication stands between the click and a record
        with host.tenant_context(db, TENANT_A):
            db.execute("SELECT msteams.capture_conversation_reference(%s, %s)",
                       (TENANT_A, Jsonb(conv(sb).message(ADA))))
        delivery_id, card = card_delivery(db, sb)
        assert finish(db, delivery_id) == "final"
        activity = conv(sb).press(ADA, card, "acknowledge")
    else:
        activity = conv(sb).message(ADA, "hi")
    before = recorded(db)
    if options.get("token") == "FOREIGN":
        options["token"] = _foreign_key_token(sb, activity["serviceUrl"])
    r = sb.post_activity(endpoint, activity, bot_app_id=bot, **options)
    assert r.status_code == 401, (case, r.status_code, r.text)
    assert "statusCode" not in r.text and "Traceback" not in r.text
    rejected = [rec.getMessage() for rec in caplog.records if rec.getMessage().startswith("inbound rejected")]
    assert len(rejected) == 1 and reason in rejected[0], rejected
    assert recorded(db) == before
    if delivery_id is not None:
        with host.tenant_context(db, TENANT_A):
            assert all(d.responded_at is None for d in host.get_delivery(db, TENANT_A, delivery_id=delivery_id))


def test_activity_for_an_unknown_organisation_is_refused(sb, endpoint, db):
    c = conv(sb)
    c.aad_tenant_id = "99999999-9999-4999-8999-999999999999"
    r = sb.post_activity(endpoint, c.message(ADA), bot_app_id=BOT_A)
    assert r.status_code == 401
    assert recorded(db) == (0, 0)


def test_small_clock_skew_is_tolerated(sb, endpoint, db):
    r = sb.post_activity(endpoint, conv(sb).message(ADA), bot_app_id=BOT_A, expires_in=-60)
    assert r.status_code == 200, r.text
    assert reference_status(db) == "active"


def test_bot_removal_marks_stale_and_re_add_revives(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    r = sb.post_activity(endpoint, conv(sb).members_removed(ADA), bot_app_id=BOT_A)
    assert r.status_code == 200
    assert reference_status(db) == "stale"
    reason = db.execute("SELECT stale_reason FROM msteams.conversation_references").fetchone()[0]
    assert reason == "bot_removed"
    r = sb.post_activity(endpoint, conv(sb).members_added(ADA), bot_app_id=BOT_A)
    assert r.status_code == 200
    assert reference_status(db) == "active"


def test_uninstall_marks_stale_and_reinstall_revives(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    assert sb.post_activity(endpoint, conv(sb).installation_update(ADA, "remove"), bot_app_id=BOT_A).status_code == 200
    assert reference_status(db) == "stale"
    assert sb.post_activity(endpoint, conv(sb).installation_update(ADA, "add"), bot_app_id=BOT_A).status_code == 200
    assert reference_status(db) == "active"


def test_a_user_leaving_does_not_mark_the_reference_stale(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    someone = {"id": "29:1someone-else", "aadObjectId": "bbbbbbbb-0000-4000-8000-000000000001"}
    r = sb.post_activity(endpoint, conv(sb).members_removed(ADA, bot=False, members=[someone]), bot_app_id=BOT_A)
    assert r.status_code == 200
    assert reference_status(db) == "active"


# ---------------------------------------------------------------------------- card actions
def test_acknowledge_records_the_response_and_answers_with_the_updated_card(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    delivery_id, card = card_delivery(db, sb, title="Disk full on db-1", priority="critical")
    assert finish(db, delivery_id) == "final"
    invoke = conv(sb).press(ADA, card, "acknowledge")
    r = sb.post_activity(endpoint, invoke, bot_app_id=BOT_A)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    updated = body["value"]
    cards.validate_card(updated)
    text = " ".join(b.get("text", "") for b in updated["body"] if b["type"] == "TextBlock")
    assert "Acknowledged by Ada Lovelace" in text
    assert any("Disk full on db-1" in i.get("text", "") for i in updated["body"][0]["items"])
    assert "actions" not in updated                      # nothing left to press
    with host.tenant_context(db, TENANT_A):
        story = host.get_delivery(db, TENANT_A, delivery_id=delivery_id)
        events = host.list_audit_events(db, TENANT_A).items
    assert story[-1].response_action == "acknowledge" and story[-1].responded_at is not None
    assert [(e.action_id, e.actor_user_id, e.delivery_id, e.activity_id, e.surface, e.result_status)
            for e in events] == [("acknowledge", ADA.aad_object_id, delivery_id, invoke["id"], "bot", "success")]
    assert events[0].payload_hash == host.payload_hash({"verb": "acknowledge",
                                                        "data": invoke["value"]["action"]["data"]})


def test_the_same_invoke_twice_is_recorded_once(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    delivery_id, card = card_delivery(db, sb)
    finish(db, delivery_id)
    invoke = conv(sb).press(ADA, card, "escalate")
    first = sb.post_activity(endpoint, invoke, bot_app_id=BOT_A)
    again = sb.post_activity(endpoint, invoke, bot_app_id=BOT_A)    # Teams retries the same invoke
    assert first.status_code == again.status_code == 200
    assert first.json()["value"]["body"][1]["text"] == again.json()["value"]["body"][1]["text"]
    assert db.execute("SELECT count(*) FROM msteams.audit_events WHERE action_id = 'escalate'").fetchone()[0] == 1
    # an escalated alert can still be acknowledged, and the button carries the delivery id itself
    remaining = first.json()["value"]["actions"]
    assert [(a["verb"], a["data"]["delivery_id"]) for a in remaining] == [("acknowledge", delivery_id)]


def test_a_card_carrying_the_delivery_id_works_too(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    delivery_id, _ = card_delivery(db, sb)
    finish(db, delivery_id)
    invoke = conv(sb).card_action(ADA, "acknowledge", {"delivery_id": delivery_id})
    r = sb.post_activity(endpoint, invoke, bot_app_id=BOT_A)
    assert r.status_code == 200, r.text
    row = db.execute("SELECT response_action, responded_by FROM msteams.notification_deliveries WHERE delivery_id = %s",
                     (delivery_id,)).fetchone()
    assert row == ("acknowledge", ADA.aad_object_id)


def test_a_route_card_resolves_to_the_delivery_of_the_conversation_clicked(sb, endpoint, db):
    """One payload for every destination of a route: the card names only the notification, and the
    click is matched to the delivery of the conversation it came from."""
    capture_first(sb, endpoint, db)
    assert sb.post_activity(endpoint, sb.inbound(CONV_BOB).message(BOB), bot_app_id=BOT_A).status_code == 200
    host.set_route(db, TENANT_A, "oncall", [{"destination_type": "chat", "destination_id": CONV},
                                            {"destination_type": "chat", "destination_id": CONV_BOB}])
    card = cards.alert_card("Pager: API down", priority="critical", delivery=cards.DeliveryRef("page-7"))
    fan = host.enqueue_to_route(db, TENANT_A, "oncall", category="escalation", priority="critical",
                                payloads={"chat": cards.bot_message(card)}, internal_notification_id="page-7",
                                idempotency_key="page-7")
    by_conv = {r.destination_id: r.delivery_id for r in fan}
    assert finish(db, *by_conv.values()) == "final"
    r = sb.post_activity(endpoint, sb.inbound(CONV_BOB).press(BOB, card, "acknowledge"), bot_app_id=BOT_A)
    assert r.status_code == 200, r.text
    responded = db.execute("SELECT delivery_id, responded_by FROM msteams.notification_deliveries "
                           "WHERE response_action IS NOT NULL").fetchall()
    assert responded == [(by_conv[CONV_BOB], BOB.aad_object_id)]


def test_retry_on_a_failed_delivery_requeues_it(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    delivery_id, card = card_delivery(db, sb, priority="high")
    assert finish(db, delivery_id, status="failed", status_code=400, error_code="bad_request") == "final"
    assert db.execute("SELECT count(*) FROM msteams.outbox").fetchone()[0] == 0
    r = sb.post_activity(endpoint, conv(sb).press(ADA, card, "retry"), bot_app_id=BOT_A)
    assert r.status_code == 200, r.text
    assert "Queued again by Ada Lovelace" in r.json()["value"]["body"][1]["text"]
    assert db.execute("SELECT delivery_id FROM msteams.outbox").fetchall() == [(delivery_id,)]
    with host.tenant_context(db, TENANT_A):
        assert host.get_delivery(db, TENANT_A, delivery_id=delivery_id)[-1].status == "pending"


def test_retry_on_a_sent_delivery_is_an_error_response(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    delivery_id, card = card_delivery(db, sb)
    finish(db, delivery_id)
    r = sb.post_activity(endpoint, conv(sb).press(ADA, card, "retry"), bot_app_id=BOT_A)
    assert r.status_code == 409
    body = r.json()
    assert body["statusCode"] == 409 and body["type"] == "application/vnd.microsoft.error"
    assert body["value"]["code"] == "Conflict" and "nothing to retry" in body["value"]["message"]
    assert "Traceback" not in r.text and "psycopg" not in r.text
    assert db.execute("SELECT count(*) FROM msteams.audit_events").fetchone()[0] == 0
    assert reference_status(db) == "active"          # the activity itself was still captured


def test_unknown_delivery_is_not_found(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    r = sb.post_activity(endpoint, conv(sb).card_action(ADA, "acknowledge", {"delivery_id": 987654}), bot_app_id=BOT_A)
    assert r.status_code == 404
    assert r.json()["statusCode"] == 404 and r.json()["value"]["code"] == "NotFound"
    r = sb.post_activity(endpoint, conv(sb).card_action(ADA, "acknowledge", {"internal_notification_id": "nope"}),
                         bot_app_id=BOT_A)
    assert r.status_code == 404


def test_another_tenants_delivery_is_not_found(sb, endpoint, db):
    """A click authenticated for tenant A cannot touch tenant B's delivery."""
    capture_first(sb, endpoint, db)
    b_conv = "a:1personal-chat-of-b"
    sb_b = sb.inbound(CONV)
    with host.tenant_context(db, TENANT_B):
        db.execute("SELECT msteams.capture_conversation_reference(%s, %s)", (TENANT_B, Jsonb(
            {**sb_b.message(ADA), "conversation": {"id": b_conv, "conversationType": "personal", "tenantId": AAD_B}})))
        other = host.enqueue_notification(db, TENANT_B, category="escalation", priority="high", destination_type="chat",
                                          destination_id=b_conv, payload={"type": "message", "text": "b"},
                                          internal_notification_id="b-1")
    finish(db, other.delivery_id)
    r = sb.post_activity(endpoint, conv(sb).card_action(ADA, "acknowledge", {"delivery_id": other.delivery_id}),
                         bot_app_id=BOT_A)
    assert r.status_code == 404
    assert db.execute("SELECT count(*) FROM msteams.audit_events").fetchone()[0] == 0


def test_unknown_verb_and_missing_delivery_are_bad_requests(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    r = sb.post_activity(endpoint, conv(sb).card_action(ADA, "approve", {"delivery_id": 1}), bot_app_id=BOT_A)
    assert r.status_code == 400 and r.json()["type"] == "application/vnd.microsoft.error"
    r = sb.post_activity(endpoint, conv(sb).card_action(ADA, "acknowledge", {}), bot_app_id=BOT_A)
    assert r.status_code == 400 and "delivery" in r.json()["value"]["message"]
    assert db.execute("SELECT count(*) FROM msteams.audit_events").fetchone()[0] == 0


def test_action_submit_fallback_is_recorded(sb, endpoint, db):
    capture_first(sb, endpoint, db)
    delivery_id, card = card_delivery(db, sb)
    finish(db, delivery_id)
    fallback = cards.find_execute_action(card, "acknowledge")["fallback"]
    assert fallback["type"] == "Action.Submit"
    msg = conv(sb).message(ADA, "", value=fallback["data"])
    r = sb.post_activity(endpoint, msg, bot_app_id=BOT_A)
    assert r.status_code == 200
    rows = db.execute("SELECT action_id, actor_user_id, delivery_id FROM msteams.audit_events").fetchall()
    assert rows == [("acknowledge", ADA.aad_object_id, delivery_id)]


def test_other_invokes_are_not_implemented_but_captured(sb, endpoint, db):
    invoke = conv(sb).message(ADA)
    invoke.update(type="invoke", name="composeExtension/query", value={})
    r = sb.post_activity(endpoint, invoke, bot_app_id=BOT_A)
    assert r.status_code == 501
    assert reference_status(db) == "active"


def test_a_kid_that_is_not_published_is_refused(sb, endpoint, db):
    """A kid the cache does not know makes the endpoint refetch the JWKS (at most once a minute),
    so a token under a key that is not published is still refused."""
    r = sb.post_activity(endpoint, conv(sb).message(ADA), bot_app_id=BOT_A)
    assert r.status_code == 200
    token = sb.sign_token({"iss": "https://api.botframework.com", "aud": BOT_A, "exp": 4102444800,
                           "serviceurl": conv(sb).service_url}, {"kid": "rotated-key-id"})
    r = sb.post_activity(endpoint, conv(sb).message(ADA), bot_app_id=BOT_A, token=token)
    assert r.status_code == 401


def test_serve_command_refuses_bad_settings_in_one_line():
    from click.testing import CliRunner

    from pgteams.serve import serve_command

    result = CliRunner().invoke(serve_command, ["--dsn", "postgresql://nobody@127.0.0.1:1/x",
                                                "--openid-metadata-url", "http://login.example.com/meta"])
    assert result.exit_code != 0
    assert "openid_metadata_url must be an https:// URL" in result.output and "Traceback" not in result.output
    helptext = CliRunner().invoke(serve_command, ["--help"]).output
    assert "--openid-metadata-url" in helptext and "/api/messages" in helptext


def test_an_unreachable_database_is_503_and_records_nothing(sb, cluster, dbname, serve_login, tenants, db):
    """Authenticated, but the database goes away mid-flight: the caller is told to retry (Bot
    Framework retries), never given a stack trace."""
    settings = ServeSettings(dsn=cluster.dsn(dbname, user=serve_login), openid_metadata_url=sb.bot_openid_metadata_url,
                             ca_file=sb.ca_file, pool_min_size=1, pool_max_size=1)
    app = build_app(settings)
    with BackgroundServer(app) as server:
        url = server.url + settings.path
        assert sb.post_activity(url, conv(sb).message(ADA), bot_app_id=BOT_A).status_code == 200
        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (serve_login,))
        db.execute("ALTER ROLE pgteams_serve_test NOLOGIN")
        try:
            r = sb.post_activity(url, conv(sb).members_removed(ADA), bot_app_id=BOT_A)
        finally:
            db.execute("ALTER ROLE pgteams_serve_test LOGIN")
    assert r.status_code in (503,), r.text
    assert "Traceback" not in r.text
    assert reference_status(db) == "active"
