"""A small PSA host adopting pgteams, end to end against the Microsoft sandbox.

    python examples/psa_host.py             # a throw-away local PostgreSQL (needs PostgreSQL 15 binaries)
    python examples/psa_host.py --dsn DSN   # a database you own: it is migrated, and the example creates
                                            # the roles psa_backend / psa_runner and the table psa_example.tickets

What it does, in the order a real host meets it (docs/host-guide.md explains each step):

1. migrates the database and grants pgteams' group roles to the host's two database identities:
   ``psa_backend`` (msteams_app: enqueue, record, read its tenant) and ``psa_runner``
   (msteams_runner: claim and complete only);
2. configures a tenant: its Entra tenant, its bot app id and a *reference* to the bot secret;
3. starts ``pgteams serve`` (the inbound endpoint) and lets Teams - the sandbox, signing like the
   Bot Framework - tell it the bot was installed and Ada said hello: the conversation reference
   is captured;
4. escalates a ticket in one business transaction that also enqueues an Adaptive Card alert to
   Ada (and shows that a transaction that rolls back queues nothing);
5. runs the pgteams runner until the card is sent to the sandbox's Bot Framework connector;
6. Ada presses "Acknowledge" on the card: the sandbox posts the signed invoke to ``pgteams serve``,
   which records the response and answers with the updated card;
7. prints the delivery's story (``msteams.get_delivery``) and the audit event.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import uuid
from pathlib import Path

try:
    import pgteams  # noqa: F401
except ImportError:      # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner"))

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgteams import host
from pgteams.host import cards
from pgteams.runner.config import Settings
from pgteams.ops.migrate import migrate
from pgteams.sandbox import Sandbox, TeamsUser
from pgteams.serve import BackgroundServer, ServeSettings, build_app
from pgteams.runner.worker import Runner

ADA = TeamsUser("6f1c2a9e-0000-4000-8000-00000000ada1", "Ada Lovelace")
SECRET_ENV = "PSA_EXAMPLE_BOT_SECRET"

SETUP_SQL = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'psa_backend') THEN CREATE ROLE psa_backend LOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'psa_runner') THEN CREATE ROLE psa_runner LOGIN; END IF;
END $$;
GRANT msteams_app TO psa_backend;
GRANT msteams_runner TO psa_runner;
CREATE SCHEMA IF NOT EXISTS psa_example;
CREATE TABLE IF NOT EXISTS psa_example.tickets (
    tenant uuid NOT NULL, ticket text NOT NULL, status text NOT NULL, PRIMARY KEY (tenant, ticket));
GRANT USAGE ON SCHEMA psa_example TO psa_backend;
GRANT SELECT, INSERT, UPDATE ON psa_example.tickets TO psa_backend;
"""


def as_role(dsn: str, role: str) -> str:
    """The admin DSN acting as ``role`` (SET ROLE at connect). A real host logs in as the role."""
    params = conninfo_to_dict(dsn)
    params["options"] = (params.get("options", "") + f" -c role={role}").strip()
    return make_conninfo(**params)


async def run_until_sent(settings: Settings, sb: Sandbox, conversation_id: str) -> dict:
    """Run the runner until the sandbox's connector accepted the message, then stop it (a stop
    finishes and reports what is on the wire before it returns)."""
    runner = Runner(settings, install_signal_handlers=False)
    task = asyncio.create_task(runner.run())
    try:
        seen = await asyncio.to_thread(sb.wait_for, lambda reqs: [r for r in reqs if r.kind == "bot"
                                                                  and r.destination == conversation_id
                                                                  and r.status == 201], 60.0)
    finally:
        runner.stop()
        await task
    return [r for r in seen if r.kind == "bot" and r.destination == conversation_id][-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="a database you own (default: a throw-away local PostgreSQL)")
    args = parser.parse_args(argv)

    pg = None
    if args.dsn:
        admin_dsn, where = args.dsn, "the database you gave"
    else:
        from pgteams.ops.embedded import EmbeddedPostgres

        pg = EmbeddedPostgres().start()
        admin_dsn, where = pg.dsn("postgres"), f"a throw-away PostgreSQL on 127.0.0.1:{pg.port}"
    try:
        migrate(admin_dsn)
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(SETUP_SQL)
        app_dsn, runner_dsn = as_role(admin_dsn, "psa_backend"), as_role(admin_dsn, "psa_runner")
        return run(where, app_dsn, runner_dsn)
    finally:
        os.environ.pop(SECRET_ENV, None)
        if pg is not None:
            pg.stop()


def run(where: str, app_dsn: str, runner_dsn: str) -> int:
    tenant = str(uuid.uuid4())                    # the PSA's own id for the customer
    aad = str(uuid.uuid4())                       # the customer's Entra tenant
    bot = f"psa-bot-{uuid.uuid4().hex[:8]}"       # the PSA's bot (Entra app id)
    conversation = f"a:1{uuid.uuid4().hex}"       # Ada's personal chat with the bot
    ticket = f"T-{secrets.randbelow(9000) + 1000}"

    with Sandbox(enforce_limits=True) as sb:
        # The bot secret lives where the runner resolves its reference; the database holds only the name.
        os.environ[SECRET_ENV] = secret = secrets.token_urlsafe(24)
        sb.add_tenant(aad, client_id=bot, client_secret=secret, bot_app_id=bot)
        sb.add_conversation(aad, conversation, bot_app_ids=[bot])

        serve = BackgroundServer(build_app(ServeSettings(dsn=app_dsn, openid_metadata_url=sb.bot_openid_metadata_url,
                                                         ca_file=sb.ca_file, pool_max_size=2)))
        with serve:
            endpoint = f"{serve.url}/api/messages"
            print(f"psa_host: {where}; Microsoft sandbox on {sb.url}; pgteams serve on {endpoint}")

            with psycopg.connect(app_dsn) as conn:
                # 2. the tenant (its own transaction, as the PSA's admin screen would do it)
                with host.tenant_context(conn, tenant):
                    host.upsert_integration(conn, tenant, aad_tenant_id=aad, client_id=bot, bot_app_id=bot,
                                            credential_ref=f"env:{SECRET_ENV}")
                    conn.execute("INSERT INTO psa_example.tickets VALUES (%s, %s, 'open')", (tenant, ticket))
                print(f"1. tenant configured: Entra tenant {aad}, bot {bot}, credential env:{SECRET_ENV}")

                # 3. Teams installs the bot and Ada says hello: pgteams serve captures the reference
                chat = sb.inbound(conversation)
                for activity in (chat.installation_update(ADA, "add"), chat.message(ADA, "hello")):
                    answer = sb.post_activity(endpoint, activity, bot_app_id=bot)
                    assert answer.status_code == 200, answer.text
                with host.tenant_context(conn, tenant):
                    status = conn.execute("SELECT status FROM msteams.conversation_references WHERE tenant = %s "
                                          "AND conversation_id = %s", (tenant, conversation)).fetchone()[0]
                print(f"2. Teams posted installationUpdate + message (signed): serve answered 200, "
                      f"reference {status}")

                # 4a. a business transaction that fails queues nothing
                inid = f"{ticket}-escalated"
                try:
                    with host.tenant_context(conn, tenant):
                        conn.execute("UPDATE psa_example.tickets SET status = 'escalated' WHERE tenant = %s "
                                     "AND ticket = %s", (tenant, ticket))
                        host.enqueue_notification(conn, tenant, category="escalation", priority="critical",
                                                  destination_type="chat", destination_id=conversation,
                                                  payload=cards.bot_message(cards.alert_card(
                                                      f"Ticket {ticket} escalated", priority="critical",
                                                      delivery=cards.DeliveryRef(inid, "chat", conversation))),
                                                  internal_notification_id=inid)
                        raise RuntimeError("the SLA service was down: the escalation is rolled back")
                except RuntimeError:
                    pass
                with host.tenant_context(conn, tenant):
                    nothing = host.get_delivery(conn, tenant, internal_notification_id=inid)
                print(f"3. a business transaction rolled back: deliveries queued for it: {len(nothing)}")

                # 4b. the same escalation, committed: the ticket and the alert together or not at all
                card = cards.alert_card(
                    f"Ticket {ticket} escalated", priority="critical", subtitle="Contoso · Printer fleet",
                    text="The customer reports every printer on floor 3 offline since 08:00.",
                    facts={"Ticket": ticket, "SLA": "breach in 45 min", "Assigned": "Ada Lovelace"},
                    links={"Open ticket": f"https://psa.example.com/tickets/{ticket}"},
                    delivery=cards.DeliveryRef(inid, "chat", conversation), actions=("acknowledge", "escalate"))
                with host.tenant_context(conn, tenant):
                    conn.execute("UPDATE psa_example.tickets SET status = 'escalated' WHERE tenant = %s "
                                 "AND ticket = %s", (tenant, ticket))
                    queued = host.enqueue_notification(conn, tenant, category="escalation", priority="critical",
                                                       destination_type="chat", destination_id=conversation,
                                                       payload=cards.bot_message(card, summary=f"{ticket} escalated"),
                                                       internal_notification_id=inid, event_type="ticket_escalated",
                                                       correlation_id=f"psa-{ticket}")
                print(f"4. business transaction committed: ticket {ticket} escalated, "
                      f"delivery {queued.delivery_id} {queued.status}")

                # 5. the runner sends it
                settings = Settings.for_sandbox(runner_dsn, sb.url, sb.ca_file, poll_interval=1.0,
                                                maintenance_interval=0, worker_id="psa-example-runner")
                sent = asyncio.run(run_until_sent(settings, sb, conversation))
                print(f"5. runner sent it: POST {sent.path} -> {sent.status}")

                # 6. Ada presses Acknowledge on the card she received
                received = cards.cards_in(sent.body)[0]
                click = chat.press(ADA, received, "acknowledge")
                answer = sb.post_activity(endpoint, click, bot_app_id=bot)
                updated = answer.json()["value"]
                done = next(b["text"] for b in updated["body"] if "by" in b.get("text", ""))
                print(f"6. {ADA.name} pressed Acknowledge: serve answered {answer.status_code} "
                      f"({answer.json()['type']}) with the card \"{done}\"")

                # 7. "did it go out?" and the audit ledger
                with host.tenant_context(conn, tenant):
                    story = host.get_delivery(conn, tenant, delivery_id=queued.delivery_id)
                    events = host.list_audit_events(conn, tenant).items
                print(f"7. the story of delivery {queued.delivery_id} (msteams.get_delivery):")
                for d in story:
                    print(f"   attempt {d.attempt_number}  {d.status}  http {d.status_code}  final={d.final}  "
                          f"enqueued {d.enqueued_at:%H:%M:%S.%f}  sent {d.sent_at:%H:%M:%S.%f}  "
                          f"response {d.response_action} at {d.responded_at:%H:%M:%S}")
                for e in events:
                    print(f"   audit event {e.audit_id}: {e.action_id} by {e.actor_user_id} on delivery {e.delivery_id}"
                          f" via {e.surface}, {e.result_status}, activity {e.activity_id}, "
                          f"payload_hash {e.payload_hash[:16]}…")
    return 0


if __name__ == "__main__":
    sys.exit(main())
