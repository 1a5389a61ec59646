-- 0015: vacuum the outbox often. Every claim and every completion leaves a dead row version behind
-- (the lease moves an indexed column), so a busy outbox is mostly dead tuples unless it is vacuumed
-- far more often than PostgreSQL's default (20 % of the table). Measured in docs/benchmarks.md
-- ("Claim under bloat"): a VACUUM of a 1.3 GB bloated outbox restored the fresh rate.
ALTER TABLE msteams.outbox SET (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 5000
);
