"""pgteams.host on the connection Django or SQLAlchemy holds: an enqueue joins the framework's own
transaction (same backend, no second connection), so a rolled-back business transaction sends
nothing and a committed one queues exactly one delivery."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from pgteams import host

HOST_LOGIN = "pgteams_framework_test"
T1 = "00000000-0000-4000-8000-0000000000f1"
AAD1 = "44444444-4444-4444-8444-444444444444"
PAYLOAD = {"topic": {"source": "text", "value": "Ticket 7", "webUrl": "https://psa.example.com/t/7"},
           "activityType": "systemDefault", "previewText": {"content": "Ticket 7 was assigned to you"}}


class BusinessRuleFailed(Exception):
    pass


@pytest.fixture
def app_dsn(cluster, dbname, db):
    with cluster.admin() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (HOST_LOGIN,)).fetchone():
            conn.execute(f"CREATE ROLE {HOST_LOGIN} LOGIN")
        conn.execute(f"GRANT msteams_app TO {HOST_LOGIN}")
    db.execute("CREATE TABLE public.tickets (id int PRIMARY KEY, status text NOT NULL)")
    db.execute("INSERT INTO public.tickets VALUES (7, 'open')")
    db.execute(f"GRANT SELECT, UPDATE ON public.tickets TO {HOST_LOGIN}")
    with psycopg.connect(cluster.dsn(dbname, user=HOST_LOGIN)) as conn, host.tenant_context(conn, T1):
        host.upsert_integration(conn, T1, aad_tenant_id=AAD1, client_id="app-f1", credential_ref="env:SECRET_F1")
    return cluster.dsn(dbname, user=HOST_LOGIN)


def enqueue(conn: psycopg.Connection) -> host.EnqueueResult:
    return host.enqueue_notification(conn, T1, category="assignment", priority="high",
                                     destination_type="user_activity", destination_id="ana@contoso.com",
                                     payload=PAYLOAD, internal_notification_id="ticket-7-assigned")


def queued(db) -> int:
    return db.execute("SELECT count(*) FROM msteams.outbox").fetchone()[0]


# ================================================================================== Django
@pytest.fixture
def django_db(app_dsn):
    import django
    from django.conf import settings
    from django.db import connections

    params = conninfo_to_dict(app_dsn)
    database = {"ENGINE": "django.db.backends.postgresql", "NAME": params["dbname"], "USER": params["user"],
                "HOST": params.get("host", ""), "PORT": str(params.get("port", "")), "PASSWORD": "",
                "CONN_MAX_AGE": 0, "ATOMIC_REQUESTS": False, "AUTOCOMMIT": True, "OPTIONS": {},
                "TIME_ZONE": None, "CONN_HEALTH_CHECKS": False, "TEST": {}}
    if not settings.configured:
        settings.configure(DATABASES={"default": database}, USE_TZ=True, INSTALLED_APPS=[])
        django.setup()
    connections["default"].close()
    connections["default"].settings_dict.update(database)
    yield connections["default"]
    connections["default"].close()


def test_django_rolled_back_atomic_block_queues_nothing(django_db, db):
    from django.db import transaction

    with pytest.raises(BusinessRuleFailed):
        with transaction.atomic():
            with django_db.cursor() as cur:
                cur.execute("UPDATE public.tickets SET status = 'assigned' WHERE id = 7")
            assert enqueue(host.django_connection(T1)).status == "queued"
            assert queued(db) == 0                      # not visible outside the open transaction
            raise BusinessRuleFailed
    assert queued(db) == 0
    assert db.execute("SELECT count(*) FROM msteams.idempotency_keys").fetchone()[0] == 0
    assert db.execute("SELECT status FROM public.tickets").fetchone()[0] == "open"


def test_django_committed_atomic_block_queues_on_the_same_connection(django_db, db):
    from django.db import transaction

    with transaction.atomic():
        with django_db.cursor() as cur:
            cur.execute("UPDATE public.tickets SET status = 'assigned' WHERE id = 7")
            cur.execute("SELECT pg_backend_pid()")
            django_pid = cur.fetchone()[0]
        conn = host.django_connection(T1)
        assert conn is django_db.connection
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] == django_pid
        result = enqueue(conn)
        # the tenant context holds for reads in the same transaction (row-level security)
        assert [d.delivery_id for d in host.get_delivery(conn, T1, delivery_id=result.delivery_id)] == \
            [result.delivery_id]
    assert queued(db) == 1
    assert db.execute("SELECT status FROM public.tickets").fetchone()[0] == "assigned"


def test_django_outside_atomic_is_refused(django_db, db):
    with pytest.raises(host.NotInTransaction, match="transaction.atomic"):
        host.django_connection(T1)
    assert queued(db) == 0


# ============================================================================== SQLAlchemy
@pytest.fixture
def engine(app_dsn):
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(app_dsn), poolclass=None)
    yield engine
    engine.dispose()


def test_sqlalchemy_rolled_back_session_queues_nothing(engine, db):
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    with pytest.raises(BusinessRuleFailed):
        with Session(engine) as session, session.begin():
            session.execute(text("UPDATE public.tickets SET status = 'assigned' WHERE id = 7"))
            assert enqueue(host.sqlalchemy_connection(session, T1)).status == "queued"
            raise BusinessRuleFailed
    assert queued(db) == 0
    assert db.execute("SELECT status FROM public.tickets").fetchone()[0] == "open"


def test_sqlalchemy_committed_session_queues_on_the_same_connection(engine, db):
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE public.tickets SET status = 'assigned' WHERE id = 7"))
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn = host.sqlalchemy_connection(session, T1)
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
        enqueue(conn)
    assert queued(db) == 1
    assert db.execute("SELECT status FROM public.tickets").fetchone()[0] == "assigned"


def test_sqlalchemy_connection_without_a_transaction_is_refused(engine, db):
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        with pytest.raises(host.NotInTransaction, match="session.begin"):
            host.sqlalchemy_connection(session, T1)
    with engine.connect() as connection:
        with pytest.raises(host.NotInTransaction, match="connection.begin"):
            host.sqlalchemy_connection(connection, T1)
    assert queued(db) == 0
