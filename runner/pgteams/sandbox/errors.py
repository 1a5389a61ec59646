"""Microsoft-shaped error bodies for the sandbox's endpoints.

Shapes come from TEAMS_FACTS.md (Graph OData errors §6, Bot Framework
connector errors §2, Entra ID token errors §4). Where Microsoft documents no
body (Workflows webhooks, some 5xx), the sandbox uses a plausible shape and
docs/sandbox.md says so.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

# --- Entra ID (login) -------------------------------------------------------


def aad_error(
    error: str,
    code: int,
    description: str,
    *,
    correlation_id: Optional[str] = None,
) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


AAD_STATUS_ERRORS = {
    # status -> (error, AADSTS code, description) for injected token faults
    400: ("invalid_request", 900144, "The request is not valid (sandbox fault)."),
    401: ("invalid_client", 7000215, "Invalid client secret provided (sandbox fault)."),
    429: ("temporarily_unavailable", 90055, "The tenant is being throttled (sandbox fault)."),
    500: ("server_error", 90033, "A transient error has occurred. Please try again (sandbox fault)."),
    503: ("temporarily_unavailable", 90033, "A transient error has occurred. Please try again (sandbox fault)."),
    504: ("temporarily_unavailable", 90033, "The request timed out (sandbox fault)."),
}


def aad_status_error(status: int, correlation_id: Optional[str]) -> dict[str, Any]:
    error, code, desc = AAD_STATUS_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request", 90033, f"HTTP {status} (sandbox fault).")
    )
    return aad_error(error, code, desc, correlation_id=correlation_id)
