"""Operating pgteams: ``migrate`` (the manifest through yoyo), ``maintain`` (partitions, retention,
purge, maintenance leadership), ``status`` (``pgteams status``), ``embedded`` (a throw-away
PostgreSQL for the demo and the tests)."""
