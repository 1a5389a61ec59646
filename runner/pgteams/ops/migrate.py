"""Apply migrations.yml to a database with yoyo-migrations.

yoyo reads only INI configuration and directories of files, so this module reads our own
manifest and hands yoyo one Migration object per step; yoyo keeps the record of what was
applied (in schema msteams_migrations), takes its lock against concurrent runs, and runs each
step in a transaction. See docs/architecture.md, "Migrations".
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import DatabaseURI
from yoyo.migrations import Migration, MigrationList, StepCollector

from ..postgres import one_line

PACKAGE_DIR = Path(__file__).resolve().parent.parent    # pgteams/: holds migrations.yml and sql/
BOOKKEEPING_SCHEMA = "msteams_migrations"


class MigrateError(Exception):
    """A migration could not be applied; the message is one line, safe to print."""


@dataclass
class Step:
    id: str
    sql: str
    as_owner: bool = True
    files: list[str] = field(default_factory=list)
    spans: list[tuple[int, int, str]] = field(default_factory=list)   # (start, end, file) in sql

    def locate(self, position: int | None) -> str:
        """`file line N` for a 1-based character position in sql (from an error's diagnostics)."""
        if not position:
            return ""
        for start, end, name in self.spans:
            if start <= position - 1 < end:
                return f" (in {name} line {self.sql.count(chr(10), start, position - 1) + 1})"
        return ""


def manifest_path() -> Path:
    return PACKAGE_DIR / "migrations.yml"


def load_steps(manifest: Path | None = None) -> list[Step]:
    """The steps of the manifest, in order: the schema steps, then the code step."""
    manifest = manifest or manifest_path()
    root = manifest.resolve().parent
    spec = yaml.safe_load(manifest.read_text())
    steps: list[Step] = []
    for entry in spec["schema"]:
        path = root / entry["file"]
        steps.append(Step(id=f"schema/{path.stem}", sql=path.read_text(),
                          as_owner=not entry.get("as_migrator", False), files=[entry["file"]]))
    code_files: list[str] = []
    for pattern in spec.get("code", []):
        for p in sorted(glob.glob(str(root / pattern))):
            rel = str(Path(p).relative_to(root))
            if rel not in code_files:
                code_files.append(rel)
    # check_function_bodies stays on: a SQL-language body is checked as it is created, so files
    # load in the manifest's order (helpers `_*.sql` first, views last).
    code_sql, spans = "", []
    for f in code_files:
        text = (root / f).read_text() + "\n"
        spans.append((len(code_sql), len(code_sql) + len(text), f))
        code_sql += text
    code_sql += "\n".join(s.rstrip().rstrip(";") + ";" for s in spec.get("after_code", []))
    digest = hashlib.sha256(code_sql.encode()).hexdigest()[:16]
    steps.append(Step(id=f"code/{digest}", sql=code_sql, files=code_files, spans=spans))
    return steps


class _StepMigration(Migration):
    """A yoyo Migration whose single step runs our SQL text in the step's transaction."""

    def __init__(self, step: Step, previous: "_StepMigration | None") -> None:
        super().__init__(step.id, path=f"{step.id}.sql", source_dir=str(PACKAGE_DIR))
        self._step = step
        self._previous = previous

    def load(self) -> None:
        if self.loaded:
            return
        collector = StepCollector(migration=self)
        step = self._step

        def apply(connection: psycopg.Connection) -> None:
            with connection.cursor() as cur:
                if step.as_owner:
                    cur.execute("SET LOCAL ROLE msteams_owner")
                cur.execute(step.sql)          # one simple-protocol call: no statement splitting
                cur.execute("RESET ROLE")      # yoyo's own bookkeeping runs as the migrator

        collector.add_step(apply)
        self.source = step.sql
        self.use_transactions = True
        self._depends = {self._previous} if self._previous else set()
        self.steps = collector.create_steps(True)


def _backend(dsn: str) -> PostgresqlPsycopgBackend:
    params = conninfo_to_dict(dsn)
    port = params.pop("port", None)
    uri = DatabaseURI(
        scheme="postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        hostname=params.pop("host", None),
        port=int(port) if port else None,
        database=params.pop("dbname", None),
        args={**params, "schema": BOOKKEEPING_SCHEMA},
    )
    backend = PostgresqlPsycopgBackend(uri, "_yoyo_migration")
    backend.init_database()
    return backend


def _ensure_bookkeeping_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regnamespace(%s) IS NULL", (BOOKKEEPING_SCHEMA,)).fetchone()[0]:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING_SCHEMA}")
            conn.execute(f"COMMENT ON SCHEMA {BOOKKEEPING_SCHEMA} IS "
                         "'yoyo-migrations bookkeeping for pgteams: which migrations.yml steps are applied.'")


def migration_list(steps: list[Step]) -> MigrationList:
    migrations: list[_StepMigration] = []
    for s in steps:
        migrations.append(_StepMigration(s, migrations[-1] if migrations else None))
    return MigrationList(migrations)


def _safe_target(dsn: str) -> str:
    p = conninfo_to_dict(dsn)
    return f"{p.get('user') or '(default user)'}@{p.get('host') or 'localhost'}:{p.get('port') or 5432}/{p.get('dbname') or '(default db)'}"


def pending(dsn: str, steps: list[Step] | None = None) -> list[str]:
    """Ids of the steps not yet applied."""
    steps = steps if steps is not None else load_steps()
    try:
        _ensure_bookkeeping_schema(dsn)
        backend = _backend(dsn)
    except psycopg.Error as exc:
        raise MigrateError(f"cannot migrate {_safe_target(dsn)}: {one_line(exc)}") from None
    with backend:
        return [m.id for m in backend.to_apply(migration_list(steps))]


def migrate(dsn: str, *, limit: int | None = None, steps: list[Step] | None = None) -> list[str]:
    """Apply the pending steps (at most `limit` of them); return the ids applied.

    Each step is all or nothing: a failing step leaves the database as it was before that step
    and raises MigrateError; the next run starts from it again.
    """
    steps = steps if steps is not None else load_steps()
    target = _safe_target(dsn)
    try:
        _ensure_bookkeeping_schema(dsn)
        backend = _backend(dsn)
    except psycopg.Error as exc:
        raise MigrateError(f"cannot migrate {target}: {one_line(exc)}") from None
    applied: list[str] = []
    with backend:
        with backend.lock(timeout=60):
            todo = backend.to_apply(migration_list(steps))
            if limit is not None:
                todo = MigrationList(list(todo)[:limit])
            for m in todo:
                try:
                    backend.apply_one(m)
                except psycopg.Error as exc:
                    where = m._step.locate(int(exc.diag.statement_position or 0)) if exc.diag else ""
                    raise MigrateError(
                        f"migration step {m.id} failed on {target}{where}: {one_line(exc)}; "
                        "that step was rolled back and will be applied by the next run"
                    ) from None
                applied.append(m.id)
    return applied


def schema_summary(dsn: str) -> list[tuple[str, str]]:
    """A short description of the installed msteams schema, for `pgteams migrate`."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT 'tables', count(*) FILTER (WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition)::text
              FROM pg_class c WHERE c.relnamespace = 'msteams'::regnamespace
            UNION ALL
            SELECT 'partitions', count(*)::text FROM pg_class c
             WHERE c.relnamespace = 'msteams'::regnamespace AND c.relispartition AND c.relkind IN ('r', 'p')
            UNION ALL
            SELECT 'views', count(*)::text FROM pg_class c
             WHERE c.relnamespace = 'msteams'::regnamespace AND c.relkind = 'v'
            UNION ALL
            SELECT 'functions', count(*)::text FROM pg_proc p WHERE p.pronamespace = 'msteams'::regnamespace
            UNION ALL
            SELECT 'roles', string_agg(r.rolname, ', ' ORDER BY r.rolname) FROM pg_roles r
             WHERE r.rolname LIKE 'msteams\\_%'
            """
        ).fetchall()
    return [(k, v) for k, v in rows]
