"""A claimed delivery, as ``msteams.claim_deliveries`` returns it: one typed row that carries the
delivery through the worker, the senders, the token provider and the throttle.

The field names are the function's result columns; psycopg builds the dataclass directly from
each row (``class_row``), so a column added to the SQL without a field here fails loudly at the
first claim instead of being silently dropped.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True, slots=True)
class Claim:
    tenant: uuid.UUID
    delivery_id: int
    lease_id: uuid.UUID
    attempt_number: int
    reclaimed: bool                     # the previous lease had expired (a runner died or hung)
    skip_code: Optional[str]            # not None: do not send; report skipped with this code
    transport: str                      # graph | bot | webhook
    destination_type: str
    destination_id: str
    conversation_id: Optional[str]
    service_url: Optional[str]          # bot: the conversation's serviceUrl
    webhook_url: Optional[str]          # webhook: the URL (a secret: never logged)
    payload: Any                        # a secret too: never logged
    category: str
    priority: str
    internal_notification_id: str
    correlation_id: Optional[str]
    event_type: Optional[str]
    enqueued_at: dt.datetime
    expires_at: Optional[dt.datetime]
    aad_tenant_id: Optional[str]        # the delivering tenant's own settings
    client_id: Optional[str]
    credential_ref: Optional[str]
    bot_app_id: Optional[str]
    bot_credential_ref: Optional[str]
    teams_app_id: Optional[str]

    @property
    def key(self) -> tuple[str, int]:
        """(tenant, delivery_id): a delivery's identity in the runner's books."""
        return (str(self.tenant), self.delivery_id)

    def lease(self) -> dict[str, Any]:
        """The fields every report about this claim carries (complete, defer)."""
        return {"tenant": str(self.tenant), "delivery_id": self.delivery_id, "lease_id": str(self.lease_id)}

    def __repr__(self) -> str:          # never the payload or the webhook URL
        return (f"Claim(tenant={self.tenant}, delivery_id={self.delivery_id}, transport={self.transport}, "
                f"attempt={self.attempt_number})")
