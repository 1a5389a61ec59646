"""The delivery runner (``pgteams run``): claims due deliveries, sends each with its own tenant's
credentials, reports every outcome.

Layout: ``worker`` (the loop), ``claim`` (the typed claimed row), ``db`` (every SQL call it makes),
``listener`` (LISTEN), ``housekeeping`` (heartbeat, gauges, maintenance), ``senders`` and ``auth``
and ``credentials`` (HTTPS sends with msal tokens), ``classify`` (answers → taxonomy), ``throttle``
(pacing at Microsoft's limits), ``metrics`` (Prometheus), ``config`` (settings).
"""
