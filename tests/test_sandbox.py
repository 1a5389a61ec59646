"""Tests for pgteams.sandbox: the loopback HTTPS stand-in for Microsoft.

Real clients only: msal for login, httpx for everything else, over real TLS
against the sandbox's throw-away CA. No PostgreSQL needed.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pgteams.sandbox import MICROSOFT_LIMITS, Fault, Sandbox
from pgteams.sandbox.limits import SlidingWindowLimiter, format_retry_after

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]
BOT_SCOPE = ["https://api.botframework.com/.default"]
T1, T2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
G1, G2 = "a1a1a1a1-0000-0000-0000-000000000001", "a2a2a2a2-0000-0000-0000-000000000002"
B1, B2 = "b1b1b1b1-0000-0000-0000-000000000001", "b2b2b2b2-0000-0000-0000-000000000002"
S1, S2, BS1 = "graph-secret-1", "graph-secret-2", "bot-secret-1"
U1, U2 = "u1-0000", "u2-0000"
CONV = "a:1conversation-one"

ACTIVITY = {
    "topic": {"source": "text", "value": "Deploy 42", "webUrl": "https://example.test/deploy/42"},
    "activityType": "systemDefault",
    "previewText": {"content": "Deploy 42 needs approval"},
    "templateParameters": [{"name": "systemDefaultText", "value": "Deploy 42 needs approval"}],
}
CARD = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "hi"}]},
        }
    ],
}


# --------------------------------------------------------------------------- helpers


def populate(sb: Sandbox) -> None:
    sb.add_tenant(T1, client_id=G1, client_secret=S1, bot_app_id=B1, bot_secret=BS1)
    sb.add_tenant(T2, client_id=G2, client_secret=S2, bot_app_id=B2)  # bot shares S2
    sb.add_user(T1, U1)
    sb.add_user(T2, U2)
    sb.add_conversation(T1, CONV, bot_app_ids=[B1])


@pytest.fixture
def sb():
    with Sandbox(enforce_limits=False) as box:
        populate(box)
        yield box


@pytest.fixture
def sb_limits():
    with Sandbox(enforce_limits=True) as box:
        populate(box)
        yield box


def session(sb: Sandbox) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would override verify= (TEAMS_FACTS §4)
    s.verify = sb.ca_file
    return s


def msal_app(sb: Sandbox, tenant: str, client_id: str, credential) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{sb.settings()['login_authority_host']}/{tenant}",
        instance_discovery=False,
        http_client=session(sb),
    )


def token(sb: Sandbox, tenant: str, client_id: str, secret: str, scopes=GRAPH_SCOPE) -> str:
    result = msal_app(sb, tenant, client_id, secret).acquire_token_for_client(scopes)
    assert "access_token" in result, result
    return result["access_token"]


def client(sb: Sandbox) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=sb.ca_file), timeout=30)


def graph_user_url(sb: Sandbox, user: str) -> str:
    return f"{sb.settings()['graph_base']}/users/{user}/teamwork/sendActivityNotification"


def bot_url(service_url: str, conversation: str) -> str:
    return f"{service_url}v3/conversations/{conversation}/activities"


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


MESSAGE = {"type": "message", "text": "hello"}


# --------------------------------------------------------------------------- settings


def test_settings_exact_keys_and_values():
    with Sandbox(enforce_limits=False) as box:
        s = box.settings()
        assert set(s) == {"login_authority_host", "graph_base", "bot_scope", "graph_scope", "ca_file"}
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", box.url)
        assert s["login_authority_host"] == box.url
        assert s["graph_base"] == f"{box.url}/graph/v1.0"
        assert s["bot_scope"] == "https://api.botframework.com/.default"
        assert s["graph_scope"] == "https://graph.microsoft.com/.default"
        assert s["ca_file"] == box.ca_file and Path(box.ca_file).read_text().startswith("-----BEGIN CERTIFICATE")
        assert box.add_conversation(T1, "c", bot_app_ids=[B1], region="emea") == f"{box.url}/bot/emea/"
        hook = box.add_webhook(T1)
        assert re.fullmatch(
            re.escape(box.url) + r"/workflows/[0-9a-f]{32}/triggers/manual/paths/invoke\?api-version=1"
            r"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1\.0&sig=[A-Za-z0-9_-]+",
            hook,
        )


def test_tls_is_real_an_untrusted_client_fails(sb):
    with httpx.Client(verify=ssl.create_default_context()) as c:  # system CAs only
        with pytest.raises(httpx.ConnectError):
            c.get(f"{sb.url}/_sandbox/settings")


# --------------------------------------------------------------------------- login


def test_discovery_document_and_jwks(sb):
    with client(sb) as c:
        doc = c.get(f"{sb.url}/{T1}/v2.0/.well-known/openid-configuration").json()
        assert doc["token_endpoint"] == f"{sb.url}/{T1}/oauth2/v2.0/token"
        assert doc["jwks_uri"] == f"{sb.url}/{T1}/discovery/v2.0/keys"
        assert doc["authorization_endpoint"].startswith(f"{sb.url}/{T1}/")
        assert doc["issuer"] == f"{sb.url}/{T1}/v2.0"
        assert "device_authorization_endpoint" in doc
        keys = c.get(doc["jwks_uri"]).json()["keys"]
        assert keys[0]["kty"] == "RSA" and keys[0]["kid"]
        unknown = c.get(f"{sb.url}/no-such-tenant/v2.0/.well-known/openid-configuration")
        assert unknown.status_code == 400
        assert unknown.json()["error_codes"] == [90002]
    # the signing key behind the JWKS verifies sandbox-signed tokens
    signed = sb.sign_token({"iss": "https://api.botframework.com", "aud": B1})
    assert jwt.get_unverified_header(signed)["kid"] == keys[0]["kid"]
    public = jwt.PyJWK(keys[0]).key
    assert jwt.decode(signed, public, algorithms=["RS256"], audience=B1)["iss"] == "https://api.botframework.com"


def test_msal_token_issue_and_cache(sb):
    app = msal_app(sb, T1, G1, S1)
    first = app.acquire_token_for_client(GRAPH_SCOPE)
    assert first["token_type"] == "Bearer" and first["access_token"]
    assert first["token_source"] == "identity_provider"
    assert first["expires_in"] > 3000
    second = app.acquire_token_for_client(GRAPH_SCOPE)
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]
    tokens = [r for r in sb.requests if r.kind == "token"]
    assert len(tokens) == 1
    rec = tokens[0]
    assert (rec.status, rec.token_tenant, rec.token_client, rec.token_audience) == (200, T1, G1, "graph")
    assert rec.body["client_secret"] == "<redacted>"
    assert all(S1 not in json.dumps(r.to_dict()) for r in sb.requests)


def test_bot_and_graph_tokens_have_their_audiences(sb):
    token(sb, T1, B1, BS1, BOT_SCOPE)
    token(sb, T1, G1, S1, GRAPH_SCOPE)
    auds = {(r.token_client, r.token_audience) for r in sb.requests if r.kind == "token" and r.status == 200}
    assert auds == {(B1, "botframework"), (G1, "graph")}


def test_same_app_for_graph_and_bot_uses_one_secret():
    with Sandbox(enforce_limits=False) as box:
        box.add_tenant(T1, client_id=G1, client_secret=S1, bot_app_id=G1)
        assert token(box, T1, G1, S1, BOT_SCOPE)
        assert token(box, T1, G1, S1, GRAPH_SCOPE)


def test_wrong_secret_is_aad_invalid_client(sb):
    result = msal_app(sb, T1, G1, "wrong").acquire_token_for_client(GRAPH_SCOPE)
    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert {"trace_id", "correlation_id", "timestamp"} <= set(result)
    rec = sb.wait_for(lambda rs: any(r.kind == "token" for r in rs))[-1]
    assert rec.status == 401 and rec.error_code == "invalid_client"


def test_unknown_client_and_unknown_tenant(sb):
    result = msal_app(sb, T1, "not-registered", "x").acquire_token_for_client(GRAPH_SCOPE)
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [700016]
    with pytest.raises(ValueError):  # msal's discovery gets a 400 for an unknown tenant
        msal_app(sb, "unknown-tenant", G1, S1)
    with client(sb) as c:
        r = c.post(
            f"{sb.url}/unknown-tenant/oauth2/v2.0/token",
            data={"client_id": G1, "client_secret": S1, "grant_type": "client_credentials", "scope": GRAPH_SCOPE[0]},
        )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request" and r.json()["error_codes"] == [90002]


def test_token_request_validation(sb):
    form = {"client_id": G1, "client_secret": S1, "grant_type": "client_credentials"}
    with client(sb) as c:
        url = f"{sb.url}/{T1}/oauth2/v2.0/token"
        assert c.post(url, data={**form, "scope": "https://graph.microsoft.com/User.Read"}).json()["error_codes"] == [1002012]
        assert c.post(url, data={**form, "scope": "https://example.test/.default"}).json()["error_codes"] == [500011]
        assert c.post(url, data={**form, "grant_type": "password", "scope": GRAPH_SCOPE[0]}).json()["error"] == "unsupported_grant_type"
        no_secret = c.post(url, data={"client_id": G1, "grant_type": "client_credentials", "scope": GRAPH_SCOPE[0]})
        assert no_secret.status_code == 401 and no_secret.json()["error_codes"] == [7000218]


def _self_signed(client_id: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, client_id)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode(), cert.fingerprint(hashes.SHA1()).hex()


def test_certificate_credentials_via_msal():
    key_pem, cert_pem, thumb = _self_signed(G1)
    other_key, other_cert, other_thumb = _self_signed(G1)
    with Sandbox(enforce_limits=False) as box:
        box.add_tenant(T1, client_id=G1, client_certificate=cert_pem)
        ok = msal_app(box, T1, G1, {"private_key": key_pem, "thumbprint": thumb}).acquire_token_for_client(GRAPH_SCOPE)
        assert ok.get("token_source") == "identity_provider", ok
        rec = [r for r in box.requests if r.kind == "token"][-1]
        assert rec.body["client_assertion"] == "<redacted>" and rec.status == 200
        # a certificate the app does not have registered is refused
        bad = msal_app(box, T1, G1, {"private_key": other_key, "thumbprint": other_thumb}).acquire_token_for_client(GRAPH_SCOPE)
        assert bad["error"] == "invalid_client" and bad["error_codes"] == [700027]
        # right thumbprint, wrong key: signature check fails
        forged = msal_app(box, T1, G1, {"private_key": other_key, "thumbprint": thumb}).acquire_token_for_client(GRAPH_SCOPE)
        assert forged["error"] == "invalid_client" and forged["error_codes"] == [700027]


def test_revoked_and_expired_tokens_are_refused(sb):
    tok = token(sb, T1, G1, S1)
    with client(sb) as c:
        assert c.post(graph_user_url(sb, U1), headers=bearer(tok), json=ACTIVITY).status_code == 204
        assert sb.revoke_tokens(tenant=T1) == 1
        r = c.post(graph_user_url(sb, U1), headers=bearer(tok), json=ACTIVITY)
        assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
        sb.token_lifetime = 0  # issued already expired
        with client(sb) as c2:
            short = c2.post(
                f"{sb.url}/{T1}/oauth2/v2.0/token",
                data={"client_id": G1, "client_secret": S1, "grant_type": "client_credentials", "scope": GRAPH_SCOPE[0]},
            ).json()
        assert short["expires_in"] == 0
        r = c.post(graph_user_url(sb, U1), headers=bearer(short["access_token"]), json=ACTIVITY)
        assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


# --------------------------------------------------------------------------- graph


def test_graph_send_204_with_correlation_headers(sb):
    tok = token(sb, T1, G1, S1)
    crid = str(uuid.uuid4())
    with client(sb) as c:
        r = c.post(graph_user_url(sb, U1), headers={**bearer(tok), "client-request-id": crid}, json=ACTIVITY)
        assert r.status_code == 204 and r.content == b""
        assert uuid.UUID(r.headers["request-id"])
        assert r.headers["client-request-id"] == crid
        assert r.headers["Date"].endswith("GMT")
        r2 = c.post(graph_user_url(sb, U1), headers=bearer(tok), json=ACTIVITY)
        assert r2.headers["client-request-id"] == r2.headers["request-id"] != r.headers["request-id"]
    rec = [x for x in sb.requests if x.kind == "graph"][0]
    assert rec.status == 204 and rec.destination == U1 and rec.target_tenant == T1
    assert (rec.token_tenant, rec.token_client, rec.token_audience) == (T1, G1, "graph")
    assert rec.client_request_id == crid and rec.body == ACTIVITY and rec.cross_tenant is False
    assert rec.response_id == r.headers["request-id"]


def test_graph_chat_and_team_endpoints(sb):
    sb.add_chat(T1, "19:chat@thread.v2")
    sb.add_team(T1, "team-1")
    tok = token(sb, T1, G1, S1)
    body = {**ACTIVITY, "recipient": {"@odata.type": "microsoft.graph.aadUserNotificationRecipient", "userId": U1}}
    base = sb.settings()["graph_base"]
    with client(sb) as c:
        assert c.post(f"{base}/chats/19:chat@thread.v2/sendActivityNotification", headers=bearer(tok), json=body).status_code == 204
        assert c.post(f"{base}/teams/team-1/sendActivityNotification", headers=bearer(tok), json=body).status_code == 204
        no_recipient = c.post(f"{base}/teams/team-1/sendActivityNotification", headers=bearer(tok), json=ACTIVITY)
        assert no_recipient.status_code == 400
    assert [r.destination for r in sb.requests if r.kind == "graph"] == ["19:chat@thread.v2", "team-1", "team-1"]


def test_graph_error_shapes(sb):
    sb.add_user(T1, "not-installed", app_installed=False)
    tok = token(sb, T1, G1, S1)
    with client(sb) as c:
        missing = c.post(graph_user_url(sb, U1), json=ACTIVITY)
        assert missing.status_code == 401
        err = missing.json()["error"]
        assert err["code"] == "InvalidAuthenticationToken"
        assert set(err["innerError"]) >= {"date", "request-id", "client-request-id"}
        assert missing.headers["request-id"] == err["innerError"]["request-id"]

        bad = c.post(graph_user_url(sb, U1), headers=bearer(tok), json={"activityType": "x"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"
        no_preview = {k: v for k, v in ACTIVITY.items() if k != "previewText"}
        assert c.post(graph_user_url(sb, U1), headers=bearer(tok), json=no_preview).status_code == 400

        unknown = c.post(graph_user_url(sb, "nobody"), headers=bearer(tok), json=ACTIVITY)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "itemNotFound"

        forbidden = c.post(graph_user_url(sb, "not-installed"), headers=bearer(tok), json=ACTIVITY)
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "Forbidden"
        msg = forbidden.json()["error"]["message"]
        assert f"Application with AAD App Id '{G1}' is not authorized to generate custom text notifications" in msg
        assert "Ensure that the expected Teams app is installed in the target scope" in msg

        bot_tok = token(sb, T1, B1, BS1, BOT_SCOPE)
        wrong_aud = c.post(graph_user_url(sb, U1), headers=bearer(bot_tok), json=ACTIVITY)
        assert wrong_aud.status_code == 401 and "audience" in wrong_aud.json()["error"]["message"]
    codes = [r.error_code for r in sb.requests if r.kind == "graph"]
    assert codes == ["InvalidAuthenticationToken", "BadRequest", "BadRequest", "itemNotFound", "Forbidden",
                     "InvalidAuthenticationToken"]


def test_upn_addressing_is_case_insensitive(sb):
    sb.add_user(T1, "Jane.Doe@contoso.test")
    tok = token(sb, T1, G1, S1)
    with client(sb) as c:
        assert c.post(graph_user_url(sb, "jane.doe@CONTOSO.test"), headers=bearer(tok), json=ACTIVITY).status_code == 204


def test_cross_tenant_graph_request_is_refused_and_flagged(sb):
    tok = token(sb, T1, G1, S1)
    with client(sb) as c:
        r = c.post(graph_user_url(sb, U2), headers=bearer(tok), json=ACTIVITY)
    assert r.status_code == 403
    rec = sb.wait_for(lambda rs: any(x.cross_tenant for x in rs))[-1]
    assert rec.cross_tenant is True and rec.status == 403
    assert rec.token_tenant == T1 and rec.target_tenant == T2 and rec.destination == U2


def test_graph_bulk_send_and_token_lifetime_precondition(sb):
    tok = token(sb, T1, G1, S1)
    body = {**ACTIVITY, "recipients": [
        {"@odata.type": "microsoft.graph.aadUserNotificationRecipient", "userId": U1}]}
    url = f"{sb.settings()['graph_base']}/teamwork/sendActivityNotificationToRecipients"
    with client(sb) as c:
        assert c.post(url, headers=bearer(tok), json=body).status_code == 202
        foreign = {**body, "recipients": body["recipients"] + [
            {"@odata.type": "microsoft.graph.aadUserNotificationRecipient", "userId": U2}]}
        assert c.post(url, headers=bearer(tok), json=foreign).status_code == 403
        assert sb.requests[-1].cross_tenant is True
        sb.token_lifetime = 600  # under the 45 minutes the bulk API wants
        short = msal_app(sb, T2, G2, S2).acquire_token_for_client(GRAPH_SCOPE)["access_token"]
        sb.add_user(T2, "u2-b")
        body2 = {**ACTIVITY, "recipients": [
            {"@odata.type": "microsoft.graph.aadUserNotificationRecipient", "userId": "u2-b"}]}
        r = c.post(url, headers=bearer(short), json=body2)
        assert r.status_code == 412 and r.json()["error"]["code"] == "PreconditionFailed"


# --------------------------------------------------------------------------- bot


def test_bot_send_201_and_roster_changes(sb):
    service_url = sb.add_conversation(T1, "a:roster", bot_app_ids=[B1])
    tok = token(sb, T1, B1, BS1, BOT_SCOPE)
    url = bot_url(service_url, "a:roster")
    with client(sb) as c:
        r = c.post(url, headers=bearer(tok), json=MESSAGE)
        assert r.status_code == 201 and r.json()["id"]
        assert r.headers["X-Correlating-OperationId"]
        r_again = c.post(url, headers=bearer(tok), json=MESSAGE)
        assert r_again.json()["id"] != r.json()["id"]
        sb.remove_bot("a:roster", B1)
        gone = c.post(url, headers=bearer(tok), json=MESSAGE)
        assert gone.status_code == 403
        assert gone.json() == {"error": {"code": "BotNotInConversationRoster",
                                         "message": "The bot is not part of the conversation roster."}}
        assert gone.headers["X-Correlating-OperationId"]
        sb.add_bot("a:roster", B1)
        assert c.post(url, headers=bearer(tok), json=MESSAGE).status_code == 201
    recs = [x for x in sb.requests if x.kind == "bot"]
    assert [x.status for x in recs] == [201, 201, 403, 201]
    assert recs[2].error_code == "BotNotInConversationRoster"
    assert recs[0].response_id == r.json()["id"] and recs[0].destination == "a:roster"
    assert (recs[0].token_tenant, recs[0].token_client, recs[0].token_audience) == (T1, B1, "botframework")


def test_bot_auth_and_lookup_errors(sb):
    service_url = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    graph_tok = token(sb, T1, G1, S1)
    bot_tok = token(sb, T1, B1, BS1, BOT_SCOPE)
    with client(sb) as c:
        none = c.post(bot_url(service_url, CONV), json=MESSAGE)
        assert none.status_code == 401 and none.json()["error"]["code"] == "Unauthorized"
        assert c.post(bot_url(service_url, CONV), headers=bearer(graph_tok), json=MESSAGE).status_code == 401
        missing = c.post(bot_url(service_url, "a:missing"), headers=bearer(bot_tok), json=MESSAGE)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ConversationNotFound"
        not_activity = c.post(bot_url(service_url, CONV), headers=bearer(bot_tok), json={"text": "no type"})
        assert not_activity.status_code == 400 and not_activity.json()["error"]["code"] == "BadArgument"
        # the Graph app asked for a bot token, but it is not a registered bot
        nonbot_tok = token(sb, T1, G1, S1, BOT_SCOPE)
        nb = c.post(bot_url(service_url, CONV), headers=bearer(nonbot_tok), json=MESSAGE)
        assert nb.status_code == 401 and nb.json()["error"]["code"] == "BotNotRegistered"


def test_cross_tenant_bot_request_is_refused_and_flagged(sb):
    service_url = sb.add_conversation(T1, "a:shared", bot_app_ids=[B1, B2])
    tok2 = token(sb, T2, B2, S2, BOT_SCOPE)  # B2 is registered in T2 only
    with client(sb) as c:
        r = c.post(bot_url(service_url, "a:shared"), headers=bearer(tok2), json=MESSAGE)
    assert r.status_code == 403
    rec = sb.requests[-1]
    assert rec.cross_tenant and rec.token_tenant == T2 and rec.target_tenant == T1


def test_blocked_conversation(sb):
    service_url = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    tok = token(sb, T1, B1, BS1, BOT_SCOPE)
    sb.block_conversation(CONV)
    with client(sb) as c:
        r = c.post(bot_url(service_url, CONV), headers=bearer(tok), json=MESSAGE)
        assert r.status_code == 403
        body = r.json()
        assert body["errorCode"] == 209
        assert json.loads(body["message"])["subCode"] == "MessageWritesBlocked"
        sb.block_conversation(CONV, blocked=False)
        assert c.post(bot_url(service_url, CONV), headers=bearer(tok), json=MESSAGE).status_code == 201
    assert sb.requests[-2].error_code == "ConversationBlockedByUser"


def test_bot_message_too_big(sb):
    service_url = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    tok = token(sb, T1, B1, BS1, BOT_SCOPE)
    with client(sb) as c:
        big = c.post(bot_url(service_url, CONV), headers=bearer(tok), json={"type": "message", "text": "x" * 103_000})
        assert big.status_code == 413 and big.json()["error"]["code"] == "MessageSizeTooBig"
        fits = c.post(bot_url(service_url, CONV), headers=bearer(tok), json={"type": "message", "text": "x" * 90_000})
        assert fits.status_code == 201


def test_legacy_botframework_authority(sb):
    service_url = sb.add_conversation(T2, "a:t2", bot_app_ids=[B1])
    app = msal_app(sb, "botframework.com", B1, BS1)
    tok = app.acquire_token_for_client(BOT_SCOPE)["access_token"]
    with client(sb) as c:
        assert c.post(bot_url(service_url, "a:t2"), headers=bearer(tok), json=MESSAGE).status_code == 201
    assert sb.requests[-1].token_tenant == "botframework.com"
    assert not sb.requests[-1].cross_tenant


# --------------------------------------------------------------------------- webhooks


def test_webhook_accept_sig_size_and_removal(sb):
    url = sb.add_webhook(T1)
    sig = re.search(r"sig=([^&]+)", url).group(1)
    with client(sb) as c:
        ok = c.post(url, json=CARD)
        assert ok.status_code == 202 and ok.content == b""
        wrong = c.post(url.replace(f"sig={sig}", "sig=AAAAwrong"), json=CARD)
        assert wrong.status_code == 401
        nosig = c.post(url.split("&sig=")[0], json=CARD)
        assert nosig.status_code == 401
        bad_type = c.post(url, json={**CARD, "type": "nope"})
        assert bad_type.status_code == 400
        message_card = c.post(url, json={"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.hero", "content": {}}]})
        assert message_card.status_code == 400
        big_card = json.loads(json.dumps(CARD))
        big_card["attachments"][0]["content"]["body"][0]["text"] = "x" * (29 * 1024)
        too_big = c.post(url, json=big_card)
        assert too_big.status_code == 413 and "Request Entity Too Large" in too_big.text
        sb.remove_webhook(url)
        assert c.post(url, json=CARD).status_code == 404
    recs = [r for r in sb.requests if r.kind == "webhook"]
    assert [r.status for r in recs] == [202, 401, 401, 400, 400, 413, 404]
    assert all(r.target_tenant == T1 for r in recs[:-1])
    for r in recs:
        assert "?" not in r.path and "sig" not in r.path
        assert sig not in json.dumps(r.to_dict())
    assert recs[0].destination == re.search(r"/workflows/([0-9a-f]{32})/", url).group(1)


# --------------------------------------------------------------------------- unserved requests


def test_unserved_requests_are_answered_in_json_and_recorded(sb):
    service_url = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    graph_tok = token(sb, T1, G1, S1)
    bot_tok = token(sb, T1, B1, BS1, BOT_SCOPE)
    sb.reset_records()
    with client(sb) as c:
        # under a surface's prefix, with any method: that surface answers, in its own shape
        update = c.put(f"{bot_url(service_url, CONV)}/1", headers=bearer(bot_tok), json=MESSAGE)
        assert update.status_code == 404 and update.json()["error"]["code"] == "NotFound"
        create = c.post(f"{service_url}v3/conversations", headers=bearer(bot_tok), json={})
        assert create.status_code == 404 and create.json()["error"]["code"] == "NotFound"
        wrong_method = c.delete(graph_user_url(sb, U1), headers=bearer(graph_tok))
        assert wrong_method.status_code == 400 and wrong_method.json()["error"]["code"] == "BadRequest"
        # outside every surface: 404, or 405 with Allow for a served path
        token_get = c.get(f"{sb.url}/{T1}/oauth2/v2.0/token")
        assert token_get.status_code == 405 and token_get.headers["allow"] == "POST"
        assert token_get.json()["error"]["code"] == "MethodNotAllowed"
        nowhere = c.post(f"{sb.url}/v1.0/me/sendMail?code=secret", headers=bearer(graph_tok), json={})
        assert nowhere.status_code == 404 and nowhere.headers["content-type"].startswith("application/json")
        assert nowhere.json()["error"] == {"code": "NotFound", "message": "The sandbox does not serve POST /v1.0/me/sendMail."}
        # the control interface answers in its own shape and is not recorded
        control = c.post(f"{sb.url}/_sandbox/settings")
        assert control.status_code == 404 and "POST /_sandbox/settings" in control.json()["error"]
    seen = [(r.kind, r.method, r.path, r.status, r.error_code) for r in sb.requests]
    assert seen == [
        ("bot", "PUT", f"/bot/amer/v3/conversations/{CONV}/activities/1", 404, "NotFound"),
        ("bot", "POST", "/bot/amer/v3/conversations", 404, "NotFound"),
        ("graph", "DELETE", f"/graph/v1.0/users/{U1}/teamwork/sendActivityNotification", 400, "BadRequest"),
        ("unserved", "GET", f"/{T1}/oauth2/v2.0/token", 405, "MethodNotAllowed"),
        ("unserved", "POST", "/v1.0/me/sendMail", 404, "NotFound"),
    ]
    assert (sb.requests[0].token_client, sb.requests[-1].token_client) == (B1, G1)


# --------------------------------------------------------------------------- faults


def test_fault_throttle_graph_with_count_exhaustion(sb):
    tok = token(sb, T1, G1, S1)
    fid = sb.fault(Fault("throttle", tenant=T1, count=2, retry_after=7))
    with client(sb) as c:
        answers = [c.post(graph_user_url(sb, U1), headers=bearer(tok), json=ACTIVITY) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 204]
    assert answers[0].headers["Retry-After"] == "7"
    err = answers[0].json()["error"]
    assert err["code"] == "TooManyRequests" and err["innerError"]["status"] == "429"
    recs = [r for r in sb.requests if r.kind == "graph"]
    assert [r.fault for r in recs] == [fid, fid, None]
    assert sb.faults == []


def test_fault_throttle_bot_default_retry_after_and_tenant_narrowing(sb):
    s1 = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    s2 = sb.add_conversation(T2, "a:two", bot_app_ids=[B2])
    sb.fault(Fault("throttle", tenant=T1, duration=60))
    t1 = token(sb, T1, B1, BS1, BOT_SCOPE)
    t2 = token(sb, T2, B2, S2, BOT_SCOPE)
    with client(sb) as c:
        r = c.post(bot_url(s1, CONV), headers=bearer(t1), json=MESSAGE)
        assert r.status_code == 429 and r.json()["error"]["code"] == "Throttled"
        assert 0 < int(r.headers["Retry-After"]) <= 60
        assert c.post(bot_url(s2, "a:two"), headers=bearer(t2), json=MESSAGE).status_code == 201
    sb.clear_faults()
    with client(sb) as c:
        assert c.post(bot_url(s1, CONV), headers=bearer(t1), json=MESSAGE).status_code == 201


def test_fault_server_error_and_endpoint_narrowing(sb):
    service_url = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    hook = sb.add_webhook(T1)
    sb.fault(Fault("server_error", endpoint="bot"))
    sb.fault(Fault("server_error", status=502, endpoint="webhook", retry_after=3))
    tok = token(sb, T1, B1, BS1, BOT_SCOPE)
    with client(sb) as c:
        r = c.post(bot_url(service_url, CONV), headers=bearer(tok), json=MESSAGE)
        assert r.status_code == 503
        assert "error" in r.json() and r.headers["X-Correlating-OperationId"]
        w = c.post(hook, json=CARD)
        assert w.status_code == 502 and w.headers["Retry-After"] == "3"
        g = c.post(graph_user_url(sb, U1), headers=bearer(token(sb, T1, G1, S1)), json=ACTIVITY)
        assert g.status_code == 204  # the graph endpoint is not faulted


def test_fault_destination_narrowing_accepts_webhook_url(sb):
    a, b = sb.add_webhook(T1), sb.add_webhook(T1)
    sb.fault(Fault("server_error", destination=a))
    with client(sb) as c:
        assert c.post(a, json=CARD).status_code == 503
        assert c.post(b, json=CARD).status_code == 202


def test_fault_timeout_holds_without_blocking_and_stop_releases(sb):
    tok = token(sb, T1, G1, S1)
    sb.add_user(T1, "slow-user")
    fid = sb.fault(Fault("timeout", destination="slow-user", delay=600))
    held: dict = {}

    def send_held():
        with client(sb) as c:
            try:
                held["status"] = c.post(graph_user_url(sb, "slow-user"), headers=bearer(tok), json=ACTIVITY).status_code
            except httpx.HTTPError as exc:  # the sandbox went away first
                held["status"] = type(exc).__name__

    t = threading.Thread(target=send_held)
    t.start()
    sb.wait_for(lambda rs: any(f["id"] == fid and f["hits"] == 1 for f in sb.faults), timeout=10)
    with client(sb) as c:  # others are answered while that one is held
        assert c.post(graph_user_url(sb, U1), headers=bearer(tok), json=ACTIVITY).status_code == 204
    assert not any(r.destination == "slow-user" for r in sb.requests)
    sb.stop()  # releases the held answer
    t.join(timeout=30)
    assert not t.is_alive()
    recs = [r for r in sb.requests if r.destination == "slow-user"]
    assert len(recs) == 1 and recs[0].status == 504 and recs[0].fault == fid
    assert held["status"] in (504, "RemoteProtocolError", "ReadError")


def test_fault_timeout_short_delay_answers_504(sb):
    hook = sb.add_webhook(T1)
    fid = sb.fault(Fault("timeout", endpoint="webhook", delay=0.01, count=1))
    with client(sb) as c:
        assert c.post(hook, json=CARD).status_code == 504
        assert c.post(hook, json=CARD).status_code == 202
    assert [r.fault for r in sb.requests if r.kind == "webhook"] == [fid, None]


def test_fault_slow_answers_normally(sb):
    tok = token(sb, T1, G1, S1)
    fid = sb.fault(Fault("slow", delay=0.01, count=1))
    with client(sb) as c:
        assert c.post(graph_user_url(sb, U1), headers=bearer(tok), json=ACTIVITY).status_code == 204
    rec = [r for r in sb.requests if r.kind == "graph"][-1]
    assert rec.fault == fid and rec.status == 204


def test_fault_token_error(sb):
    sb.fault(Fault("token_error", tenant=T1, count=1))
    with client(sb) as c:
        r = c.post(
            f"{sb.url}/{T1}/oauth2/v2.0/token",
            data={"client_id": G1, "client_secret": S1, "grant_type": "client_credentials", "scope": GRAPH_SCOPE[0]},
        )
    assert r.status_code == 500 and r.json()["error"] == "server_error"
    sb.fault(Fault("token_error", tenant=T1, status=503, count=1))
    app = msal_app(sb, T1, G1, S1)
    with pytest.raises(msal.exceptions.MsalServiceError):  # msal raises on >= 500
        app.acquire_token_for_client(GRAPH_SCOPE)
    assert [r.status for r in sb.requests if r.kind == "token"] == [500, 503]
    # other tenants are not affected, and the fault is used up
    assert token(sb, T2, G2, S2)
    assert token(sb, T1, G1, S1)


def test_fault_app_not_installed_and_conversation_blocked(sb):
    service_url = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    sb.fault(Fault("app_not_installed", destination=U1))
    sb.fault(Fault("conversation_blocked", destination=CONV, count=1))
    with client(sb) as c:
        g = c.post(graph_user_url(sb, U1), headers=bearer(token(sb, T1, G1, S1)), json=ACTIVITY)
        assert g.status_code == 403 and "is not authorized to generate custom text notifications" in g.json()["error"]["message"]
        bot_tok = token(sb, T1, B1, BS1, BOT_SCOPE)
        b = c.post(bot_url(service_url, CONV), headers=bearer(bot_tok), json=MESSAGE)
        assert b.status_code == 403 and b.json()["errorCode"] == 209
        assert c.post(bot_url(service_url, CONV), headers=bearer(bot_tok), json=MESSAGE).status_code == 201


def test_fault_validation():
    with pytest.raises(ValueError):
        Fault("nope")
    with pytest.raises(ValueError):
        Fault("app_not_installed", endpoint="bot")
    with pytest.raises(ValueError):
        Fault("throttle", count=0)


# --------------------------------------------------------------------------- limits


def test_limits_table_matches_published_numbers():
    L = MICROSOFT_LIMITS
    assert L["graph.activity_feed.per_app_per_tenant"].windows == ((5, 1.0),)
    assert L["graph.activity_feed.per_app"].windows == ((50, 1.0),)
    assert L["bot.send.per_bot_per_conversation"].windows == ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
    assert L["bot.per_app_per_tenant"].windows == ((50, 1.0),)
    assert L["webhook.per_url"].windows == ((4, 1.0),)
    assert all(limit.source for limit in L.values())
    assert L["bot.send.per_bot_per_conversation"].sustained_rps == 0.5


def test_sliding_window_limiter_retry_after_is_time_until_free():
    lim = SlidingWindowLimiter()
    windows = ((2, 1.0), (3, 10.0))
    assert lim.acquire([("k", windows)], 100.0) == 0.0
    assert lim.acquire([("k", windows)], 100.25) == 0.0
    assert lim.acquire([("k", windows)], 100.5) == pytest.approx(0.5)  # 1 s window frees at 101.0
    assert lim.acquire([("k", windows)], 101.0) == 0.0  # refused requests did not count
    assert lim.acquire([("k", windows)], 101.5) == pytest.approx(8.5)  # 10 s window: 3 used
    assert lim.acquire([("other", windows)], 101.5) == 0.0
    assert format_retry_after(0.0004, fractional=True) == "0.001"
    assert format_retry_after(2.1272, fractional=True) == "2.128"
    assert format_retry_after(0.2, fractional=False) == "1"
    assert format_retry_after(2.0, fractional=False) == "2"


def test_bot_burst_eighth_send_is_throttled(sb_limits):
    service_url = sb_limits.add_conversation(T1, CONV, bot_app_ids=[B1])
    tok = token(sb_limits, T1, B1, BS1, BOT_SCOPE)
    with client(sb_limits) as c:
        answers = [c.post(bot_url(service_url, CONV), headers=bearer(tok), json=MESSAGE) for _ in range(8)]
    assert [a.status_code for a in answers[:7]] == [201] * 7
    assert answers[7].status_code == 429
    assert answers[7].json()["error"]["code"] == "Throttled"
    assert int(answers[7].headers["Retry-After"]) > 0
    assert sb_limits.requests[-1].retry_after == answers[7].headers["Retry-After"]


def test_graph_burst_sixth_send_is_throttled_with_fractional_retry_after(sb_limits):
    tok = token(sb_limits, T1, G1, S1)
    with client(sb_limits) as c:
        answers = [c.post(graph_user_url(sb_limits, U1), headers=bearer(tok), json=ACTIVITY) for _ in range(6)]
        assert [a.status_code for a in answers[:5]] == [204] * 5
        assert answers[5].status_code == 429
        assert answers[5].json()["error"]["code"] == "TooManyRequests"
        assert 0 < float(answers[5].headers["Retry-After"]) <= 1.0
        assert re.fullmatch(r"\d+\.\d{3}", answers[5].headers["Retry-After"])
        # another tenant's budget is separate
        tok2 = token(sb_limits, T2, G2, S2)
        assert c.post(graph_user_url(sb_limits, U2), headers=bearer(tok2), json=ACTIVITY).status_code == 204


def test_webhook_burst_fifth_post_is_throttled_and_limits_can_be_disabled(sb_limits):
    url = sb_limits.add_webhook(T1)
    with client(sb_limits) as c:
        answers = [c.post(url, json=CARD) for _ in range(5)]
        assert [a.status_code for a in answers] == [202] * 4 + [429]
        assert int(answers[4].headers["Retry-After"]) >= 1
        sb_limits.enforce_limits = False
        assert all(c.post(url, json=CARD).status_code == 202 for _ in range(10))
        sb_limits.enforce_limits = True
        sb_limits.reset_limits()
        assert c.post(url, json=CARD).status_code == 202


# --------------------------------------------------------------------------- lifecycle


def test_stop_then_start_keeps_port_and_state(sb):
    service_url = sb.add_conversation(T1, CONV, bot_app_ids=[B1])
    hook = sb.add_webhook(T1)
    app = msal_app(sb, T1, B1, BS1)
    tok = app.acquire_token_for_client(BOT_SCOPE)["access_token"]
    url_before = sb.url
    with client(sb) as c:
        assert c.post(bot_url(service_url, CONV), headers=bearer(tok), json=MESSAGE).status_code == 201
        sb.stop()
        with pytest.raises(httpx.ConnectError):
            c.post(bot_url(service_url, CONV), headers=bearer(tok), json=MESSAGE)
        sb.start()
        assert sb.url == url_before
        # same token, conversation and webhook still valid; msal still has its cache
        assert c.post(bot_url(service_url, CONV), headers=bearer(tok), json=MESSAGE).status_code == 201
        assert c.post(hook, json=CARD).status_code == 202
    assert app.acquire_token_for_client(BOT_SCOPE)["token_source"] == "cache"
    assert [r.status for r in sb.requests if r.kind == "bot"] == [201, 201]


def test_state_dir_reuses_ca(tmp_path):
    with Sandbox(enforce_limits=False, state_dir=tmp_path) as first:
        ca = Path(first.ca_file).read_bytes()
        jwk = first.jwks["keys"][0]["kid"]
    assert (tmp_path / "ca.pem").exists()  # a given state dir is kept
    with Sandbox(enforce_limits=False, state_dir=tmp_path) as second:
        assert Path(second.ca_file).read_bytes() == ca
        assert second.jwks["keys"][0]["kid"] == jwk
        with client(second) as c:  # the reissued server cert chains to the same CA
            assert c.get(f"{second.url}/_sandbox/settings").status_code == 200


def test_temp_state_dir_is_removed_on_close():
    box = Sandbox(enforce_limits=False)
    box.start()
    d = box.state_dir
    assert d.is_dir()
    box.close()
    assert not d.exists()


def test_wait_for_wakes_on_request_and_times_out(sb):
    tok = token(sb, T1, G1, S1)

    def later():
        with client(sb) as c:
            c.post(graph_user_url(sb, U1), headers=bearer(tok), json=ACTIVITY)

    t = threading.Thread(target=later)
    t.start()
    reqs = sb.wait_for(lambda rs: any(r.kind == "graph" and r.status == 204 for r in rs), timeout=10)
    t.join()
    assert any(r.kind == "graph" for r in reqs)
    with pytest.raises(TimeoutError):
        sb.wait_for(lambda rs: any(r.kind == "webhook" for r in rs), timeout=0.05)
    sb.reset_records()
    assert sb.requests == []


def test_python_api_errors(sb):
    with pytest.raises(KeyError):
        sb.remove_bot("a:unknown", B1)
    with pytest.raises(KeyError):
        sb.remove_webhook(f"{sb.url}/workflows/{'0' * 32}/triggers/manual/paths/invoke?sig=x")
    with pytest.raises(ValueError):
        sb.add_tenant(T1, client_id=G1)  # no credential
    with pytest.raises(ValueError):
        sb.add_conversation(T1, "c", bot_app_ids=[B1], conversation_type="nope")


# --------------------------------------------------------------------------- control interface


def test_http_control_interface(sb):
    sb.reset()
    ctl = f"{sb.url}/_sandbox"
    with client(sb) as c:
        assert c.get(f"{ctl}/settings").json() == sb.settings()
        assert c.post(f"{ctl}/tenants", json={"aad_tenant_id": T1, "client_id": G1, "client_secret": S1,
                                               "bot_app_id": B1, "bot_secret": BS1}).status_code == 201
        assert c.post(f"{ctl}/users", json={"aad_tenant_id": T1, "user_id": U1}).status_code == 201
        conv = c.post(f"{ctl}/conversations", json={"aad_tenant_id": T1, "conversation_id": CONV,
                                                     "bot_app_ids": [B1], "region": "emea"})
        assert conv.status_code == 201 and conv.json()["service_url"] == f"{sb.url}/bot/emea/"
        hook = c.post(f"{ctl}/webhooks", json={"aad_tenant_id": T1}).json()["url"]
        assert c.get(f"{ctl}/webhooks").json()["webhooks"][0]["url"] == hook
        bad = c.post(f"{ctl}/users", json={"aad_tenant_id": T1})
        assert bad.status_code == 400 and "user_id" in bad.json()["error"]

        gtok = token(sb, T1, G1, S1)
        btok = token(sb, T1, B1, BS1, BOT_SCOPE)
        assert c.post(graph_user_url(sb, U1), headers=bearer(gtok), json=ACTIVITY).status_code == 204

        assert c.delete(f"{ctl}/conversations/{CONV}/bots/{B1}").status_code == 200
        assert c.post(bot_url(conv.json()["service_url"], CONV), headers=bearer(btok), json=MESSAGE).status_code == 403
        assert c.post(f"{ctl}/conversations/{CONV}/bots", json={"bot_app_id": B1}).status_code == 200
        assert c.post(f"{ctl}/conversations/{CONV}/block", json={"blocked": True}).status_code == 200
        assert c.post(bot_url(conv.json()["service_url"], CONV), headers=bearer(btok), json=MESSAGE).json()["errorCode"] == 209
        assert c.post(f"{ctl}/conversations/{CONV}/block", json={"blocked": False}).status_code == 200

        fid = c.post(f"{ctl}/faults", json={"kind": "throttle", "endpoint": "webhook", "count": 1}).json()["fault_id"]
        assert c.get(f"{ctl}/faults").json()["faults"][0]["id"] == fid
        assert c.post(hook, json=CARD).status_code == 429
        c.post(f"{ctl}/faults", json={"kind": "server_error"})
        assert c.delete(f"{ctl}/faults").status_code == 200
        assert c.post(hook, json=CARD).status_code == 202
        assert c.post(f"{ctl}/faults", json={"kind": "bogus"}).status_code == 400

        listed = c.get(f"{ctl}/requests", params={"kind": "webhook"}).json()
        assert [r["status"] for r in listed["requests"]] == [429, 202]
        assert all("sig" not in r["path"] for r in listed["requests"])
        since = c.get(f"{ctl}/requests", params={"since": listed["last_seq"]}).json()["requests"]
        assert since == []

        assert c.post(f"{ctl}/limits", json={"enforce": True}).json()["enforce_limits"] is True
        assert sb.enforce_limits is True
        assert c.post(f"{ctl}/tokens/revoke", json={"tenant": T1}).json()["revoked"] == 2
        assert c.delete(f"{ctl}/webhooks/{re.search('/workflows/([0-9a-f]{32})/', hook).group(1)}").status_code == 200
        assert c.post(hook, json=CARD).status_code == 404

        assert c.delete(f"{ctl}/requests").status_code == 200
        assert sb.requests == []
        assert c.post(f"{ctl}/reset").status_code == 200
        assert c.get(f"{ctl}/").json()["counts"]["tenants"] == 0
        assert "BEGIN CERTIFICATE" in c.get(f"{ctl}/ca.pem").text


def test_http_control_config_preload(sb):
    sb.reset()
    cfg = {
        "tenants": [{"aad_tenant_id": T2, "client_id": G2, "client_secret": S2, "bot_app_id": B2}],
        "users": [{"aad_tenant_id": T2, "user_id": U2}],
        "conversations": [{"aad_tenant_id": T2, "conversation_id": "a:cfg", "bot_app_ids": [B2]}],
        "webhooks": [{"aad_tenant_id": T2, "webhook_id": "ab" * 16, "sig": "fixedsig"}],
    }
    with client(sb) as c:
        out = c.post(f"{sb.url}/_sandbox/config", json=cfg).json()
        assert out["service_urls"]["a:cfg"] == f"{sb.url}/bot/amer/"
        assert out["webhooks"][0].endswith("sig=fixedsig")
        assert c.post(out["webhooks"][0], json=CARD).status_code == 202
    assert token(sb, T2, G2, S2)


# --------------------------------------------------------------------------- CLI


def test_cli_serves_preloaded_config_and_exits_cleanly_on_sigterm(tmp_path):
    cfg = tmp_path / "sandbox.json"
    cfg.write_text(json.dumps({
        "tenants": [{"aad_tenant_id": T1, "client_id": G1, "client_secret": S1}],
        "users": [{"aad_tenant_id": T1, "user_id": U1}],
    }))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1] / "runner"), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "pgteams.sandbox", "--port", "0", "--config", str(cfg),
           "--state-dir", str(tmp_path / "state"), "--no-limits"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as proc:
        try:
            line = proc.stdout.readline()
            info = json.loads(line)
            assert S1 not in line
            assert info["ca_file"] == str(tmp_path / "state" / "ca.pem")
            assert info["settings"]["graph_base"] == info["sandbox"] + "/graph/v1.0"
            assert info["enforce_limits"] is False

            class Box:  # just what the helpers need
                url = info["sandbox"]
                ca_file = info["ca_file"]

                @staticmethod
                def settings():
                    return info["settings"]

            tok = token(Box, T1, G1, S1)
            with client(Box) as c:
                assert c.post(graph_user_url(Box, U1), headers=bearer(tok), json=ACTIVITY).status_code == 204
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_cli_rejects_bad_config(tmp_path):
    from click.testing import CliRunner

    from pgteams.sandbox.cli import sandbox_command

    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"tenants": [{"aad_tenant_id": T1}]}))
    result = CliRunner().invoke(sandbox_command, ["--port", "0", "--config", str(cfg)])
    assert result.exit_code == 2 and "client_id" in result.output
