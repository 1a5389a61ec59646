"""The pgteams canonical JSON (version 1) and the audit payload hash, byte for byte as
``msteams.canonical_json`` / ``msteams.payload_hash`` compute them (docs/sql-api.md)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any, Union

JSON = Any


_MAX_DIGITS_BEFORE_POINT = 131072      # PostgreSQL numeric's range (what jsonb accepts)
_MAX_DIGITS_AFTER_POINT = 16383


class _Number(str):
    """A JSON number kept as its source token."""


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} has no canonical form (jsonb refuses it)")


def _number(token: str) -> str:
    d = Decimal(token)
    if d.is_nan() or d.is_infinite():
        raise ValueError(f"{token} has no canonical form (jsonb refuses it)")
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if d != 0 and len(digits) + exponent > _MAX_DIGITS_BEFORE_POINT:
        raise ValueError("a number outside PostgreSQL numeric's range has no canonical form")
    if max(0, -exponent) > _MAX_DIGITS_AFTER_POINT:
        raise ValueError("a number with more than 16383 digits after the point has no canonical form")
    text = format(d.copy_abs(), "f")          # copy_abs, not abs(): abs() rounds to 28 digits
    return "-" + text if d.is_signed() and d != 0 else text


def _string(s: str) -> str:
    if "\x00" in s:
        raise ValueError("a string with U+0000 has no canonical form (jsonb refuses \\u0000)")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string with an unpaired surrogate has no canonical form") from None
    return json.dumps(s, ensure_ascii=False)


def _canonical(v: Any) -> str:
    if isinstance(v, _Number):
        return _number(v)
    if isinstance(v, dict):
        keys = sorted(v)              # str order is code point order = UTF-8 byte order (COLLATE "C")
        return "{" + ",".join(_string(k) + ":" + _canonical(v[k]) for k in keys) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_canonical(x) for x in v) + "]"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        return _string(v)
    raise TypeError(f"not a JSON value: {type(v).__name__}")


def canonical_json_text(text: Union[str, bytes]) -> str:
    """The pgteams canonical JSON (v1) of a JSON document given as text, exactly as
    ``msteams.canonical_json(text::jsonb)``: number tokens keep their digits (``2.50`` stays
    ``2.50``), escapes are decoded, the last of repeated keys wins. Raises ValueError for what
    jsonb refuses (NaN/Infinity, ``\\u0000``, unpaired surrogates, numbers out of numeric range)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    value = json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_refuse_constant)
    return _canonical(value)


def canonical_json(value: JSON) -> str:
    """The canonical JSON of a Python JSON value, as SQL computes it for the same value passed as a
    ``jsonb`` parameter (psycopg sends ``json.dumps(value)``; floats as their shortest repr)."""
    if isinstance(value, Decimal):
        return _number(str(value))
    return canonical_json_text(json.dumps(value, allow_nan=False))


def payload_hash_text(text: Union[str, bytes]) -> str:
    """``msteams.payload_hash(text::jsonb)``: lowercase hex SHA-256 of the canonical JSON."""
    return hashlib.sha256(canonical_json_text(text).encode("utf-8")).hexdigest()


def payload_hash(value: JSON) -> str:
    """``msteams.payload_hash`` of a Python JSON value (the audit ``payload_hash`` of an input
    passed to :func:`record_audit_event`). ``None`` hashes as the JSON ``null``, as
    record_audit_event does for a missing input."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
