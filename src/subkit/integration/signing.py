"""Webhook signatures: sign a request, verify one, and recognize replays and duplicates.

The scheme is Stripe's: the signed text is ``timestamp + "." + raw body``, the MAC is
HMAC-SHA256 with the endpoint's secret, and the header carries the timestamp and one
signature per active secret::

    Subkit-Signature: t=1798761600,v1=5257a869...,v1=9f0c1b2e...

While a secret is rotated, the sender signs with both the new and the old one, so a receiver
holding either accepts the request. A receiver verifies the **raw bytes** it received (JSON
parsed and serialized again is not the same text), compares in constant time, and refuses a
timestamp outside the tolerance window (300 s by default), which stops a captured request
from being replayed later. Within the window, :class:`WebhookReceiver` recognizes an event id
it has seen (a retry, or a replay) as a duplicate.

Example:
    >>> from datetime import datetime, timedelta, UTC
    >>> at = datetime(2027, 1, 1, tzinfo=UTC)
    >>> body = b'{"id":"evt_1","type":"invoice.paid"}'
    >>> header = sign(body, "whsec_new", at=at)
    >>> header.startswith("t=1798761600,v1=")
    True
    >>> verify(body, header, ["whsec_old", "whsec_new"], at=at + timedelta(seconds=20))
    1798761600
    >>> verify(body + b" ", header, "whsec_new", at=at)
    Traceback (most recent call last):
    ...
    subkit.errors.WebhookSignatureError: [webhook_signature] Subkit-Signature: no signature matches ...
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from subkit.core.periods import ensure_aware
from subkit.errors import ValidationError, WebhookSignatureError, WebhookTimestampError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "EventIdLog",
    "Received",
    "SeenEvents",
    "WebhookReceiver",
    "sign",
    "signature",
    "verify",
]

#: The HTTP header that carries the timestamp and the signatures.
SIGNATURE_HEADER = "Subkit-Signature"
#: How far a request's timestamp may be from the receiver's clock.
DEFAULT_TOLERANCE = timedelta(seconds=300)
_SCHEME = "v1"


def _secrets(secrets: str | Sequence[str]) -> list[str]:
    found = [secrets] if isinstance(secrets, str) else list(secrets)
    if not found or not all(isinstance(s, str) and s for s in found):
        raise ValidationError("give at least one non-empty secret (a string)", field="secrets")
    return found


def _bytes(body: object) -> bytes:
    if not isinstance(body, (bytes, bytearray)):
        raise ValidationError(
            "pass the raw request body as bytes (parsed and re-serialized JSON is not what was signed)",
            field="body",
        )
    return bytes(body)


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``timestamp + "." + body`` under ``secret``.

    Example:
        >>> signature(b"{}", "s", 0) == hmac.new(b"s", b"0.{}", hashlib.sha256).hexdigest()
        True
    """
    signed = str(timestamp).encode() + b"." + _bytes(body)
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: str | Sequence[str], *, at: datetime) -> str:
    """The signature header for ``body`` sent at ``at``: ``t=<unix seconds>`` and one ``v1=`` per secret.

    Example:
        >>> from datetime import datetime, UTC
        >>> sign(b"{}", ["a", "b"], at=datetime(1970, 1, 1, tzinfo=UTC)).count("v1=")
        2
    """
    timestamp = int(ensure_aware(at).timestamp())
    parts = [f"t={timestamp}"] + [f"{_SCHEME}={signature(body, s, timestamp)}" for s in _secrets(secrets)]
    return ",".join(parts)


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                timestamp = None
        elif key == _SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError(
            f"the {SIGNATURE_HEADER} header needs t=<unix seconds> and at least one {_SCHEME}=<hex>",
            field=SIGNATURE_HEADER,
        )
    return timestamp, signatures


def verify(
    body: bytes,
    header: str,
    secrets: str | Sequence[str],
    *,
    at: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> int:
    """Check ``header`` against the raw ``body``; the signed timestamp, or an error.

    Any ``v1`` signature made with any of ``secrets`` is accepted (rotation), compared in
    constant time. ``WebhookSignatureError`` when none matches; ``WebhookTimestampError``
    when the signature matches but the timestamp is more than ``tolerance`` away from ``at``.

    Example:
        >>> from datetime import datetime, timedelta, UTC
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> verify(b"{}", sign(b"{}", "s", at=at), "s", at=at + timedelta(minutes=6))
        Traceback (most recent call last):
        ...
        subkit.errors.WebhookTimestampError: [webhook_timestamp] Subkit-Signature: signed at 1798761600, \
360 s before now; the tolerance is 300 s (a replay, or a clock out of sync)
    """
    raw = _bytes(body)
    timestamp, signatures = _parse(header)
    expected = [signature(raw, s, timestamp) for s in _secrets(secrets)]
    matched = False
    for sig in signatures:
        for exp in expected:
            matched |= hmac.compare_digest(sig.encode(), exp.encode())
    if not matched:
        raise WebhookSignatureError(
            "no signature matches the body: a wrong secret, or a body changed after signing "
            "(verify the raw bytes received)",
            field=SIGNATURE_HEADER,
        )
    age = int(ensure_aware(at).timestamp()) - timestamp
    if abs(age) > tolerance.total_seconds():
        when = f"{age} s before now" if age > 0 else f"{-age} s in the future"
        raise WebhookTimestampError(
            f"signed at {timestamp}, {when}; the tolerance is {int(tolerance.total_seconds())} s "
            "(a replay, or a clock out of sync)",
            field=SIGNATURE_HEADER,
        )
    return timestamp


class EventIdLog(Protocol):
    """Where a receiver remembers the event ids it processed (a table with a unique key, in production)."""

    def first_time(self, event_id: str) -> bool:
        """Record ``event_id``; ``True`` the first time, ``False`` for a duplicate."""
        ...


class SeenEvents:
    """An in-memory :class:`EventIdLog` keeping the last ``max_size`` ids.

    Example:
        >>> seen = SeenEvents()
        >>> seen.first_time("evt_1"), seen.first_time("evt_1")
        (True, False)
    """

    __slots__ = ("_ids", "max_size")

    def __init__(self, max_size: int = 100_000) -> None:
        self.max_size = max_size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        """Record ``event_id``; ``True`` the first time, ``False`` for a duplicate."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.max_size:
            self._ids.popitem(last=False)
        return True


@dataclass(frozen=True, slots=True)
class Received:
    """A verified webhook: its event (the parsed envelope) and whether it came before.

    Example:
        >>> Received(event={"id": "evt_1"}, timestamp=0, duplicate=True).event_id
        'evt_1'
    """

    event: dict[str, Any]
    timestamp: int
    duplicate: bool

    @property
    def event_id(self) -> str:
        """The event's id."""
        return str(self.event["id"])


class WebhookReceiver:
    """The receiving side: verify a request, parse its event, tell a duplicate from a first delivery.

    Answer 2xx to a duplicate too (the sender retries until it gets one), but do not
    process it again.

    Example:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> receiver = WebhookReceiver("whsec_1")
        >>> body = b'{"id":"evt_1","type":"invoice.paid","data":{}}'
        >>> first = receiver.receive(body, sign(body, "whsec_1", at=at), at=at)
        >>> again = receiver.receive(body, sign(body, "whsec_1", at=at), at=at)
        >>> first.duplicate, again.duplicate, again.event["type"]
        (False, True, 'invoice.paid')
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        tolerance: timedelta = DEFAULT_TOLERANCE,
        seen: EventIdLog | None = None,
    ) -> None:
        self.secrets = _secrets(secrets)
        self.tolerance = tolerance
        self.seen: EventIdLog = seen if seen is not None else SeenEvents()

    def receive(self, body: bytes, header: str, *, at: datetime) -> Received:
        """Verify and parse one request (see :func:`verify` for the errors)."""
        timestamp = verify(body, header, self.secrets, at=at, tolerance=self.tolerance)
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise WebhookSignatureError(
                "the signed body is not a subkit event (JSON with an id)", field="body"
            )
        return Received(event=event, timestamp=timestamp, duplicate=not self.seen.first_time(event["id"]))
