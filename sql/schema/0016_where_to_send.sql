-- 0016: one function decides a delivery's transport, conversation and skip code
-- (msteams._where_to_send, in sql/functions). It replaces _skip_code, whose argument was a whole
-- row of msteams.integrations: on Citus a shard's row has another type (integrations_<shard>), for
-- which that function does not exist. Dropped here, before the code step creates its successor,
-- so that an upgraded database has the same functions as a fresh one.
DROP FUNCTION IF EXISTS msteams._skip_code(msteams.integrations, text, boolean);
