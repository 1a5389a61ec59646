"""pgteams: a PostgreSQL-native delivery outbox and audit ledger for Microsoft Teams."""

__version__ = "0.1.0"
