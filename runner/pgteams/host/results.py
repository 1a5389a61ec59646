"""What the host wrappers return: one frozen dataclass per kind of SQL API answer."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Optional, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class EnqueueResult:
    delivery_id: int
    status: str                 # queued | skipped (| sent, delivered, failed, unknown for a duplicate)
    error_code: Optional[str]   # why it was skipped
    duplicate: bool             # a repeat of an earlier enqueue: the first delivery's id
    ordinal: Optional[int] = None   # position in the batch (enqueue_notifications), 1-based


@dataclass(frozen=True)
class RouteEnqueueResult:
    destination_type: str
    destination_id: str
    delivery_id: int
    status: str
    error_code: Optional[str]
    duplicate: bool


@dataclass(frozen=True)
class ResponseResult:
    audit_id: int
    outcome: str                # acknowledged | escalated | requeued | still_skipped | discarded | duplicate


@dataclass(frozen=True)
class Delivery:
    """One row of get_delivery / list_deliveries: an attempt outcome, or ``pending`` for a delivery
    still in the outbox (``ledger_id`` None)."""

    ledger_id: Optional[int]
    delivery_id: int
    created_at: dt.datetime
    status: str
    final: bool
    attempt_number: int
    internal_notification_id: str
    category: str
    priority: str
    destination_type: str
    destination_id: str
    event_type: Optional[str]
    correlation_id: Optional[str]
    status_code: Optional[int]
    error_code: Optional[str]
    error_message: Optional[str]
    retryable: Optional[bool]
    provider_message_id: Optional[str]
    provider_request_id: Optional[str]
    retry_at: Optional[dt.datetime]
    enqueued_at: Optional[dt.datetime]
    sent_at: Optional[dt.datetime]
    delivered_at: Optional[dt.datetime]
    responded_at: Optional[dt.datetime]
    response_action: Optional[str]


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: Optional[str]   # pass back as cursor= for the next page; None: this was the last


@dataclass(frozen=True)
class RetryResult:
    delivery_id: int
    destination_type: str
    destination_id: str
    status: str                  # queued | skipped
    error_code: Optional[str]


@dataclass(frozen=True)
class AuditEvent:
    tenant: uuid.UUID
    created_at: dt.datetime
    audit_id: int
    surface: str
    action_id: str
    actor_user_id: str
    target_type: Optional[str]
    target_id: Optional[str]
    result_status: str
    error_code: Optional[str]
    error_message: Optional[str]
    payload_hash: str
    delivery_id: Optional[int]
    conversation_id: Optional[str]
    activity_id: Optional[str]
    correlation_id: Optional[str]


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    next_cursor: Optional[str]


def build(cls: type[T], row: Mapping[str, Any]) -> T:
    """An instance of ``cls`` from a result row, ignoring columns the dataclass does not name."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in row.items() if k in names})
