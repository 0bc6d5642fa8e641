"""A scriptable, in-memory :class:`~subkit.ports.PaymentGateway` for tests and simulations.

Script what the next charges do, per token or for every token: succeed, decline with a
code, go pending (settle later with :meth:`FakeGateway.settle`), time out (raise
``GatewayError`` before charging), or fail *after* the charge happened (the charge is
recorded, then ``GatewayError`` is raised, as when the response is lost on the way back).

Idempotency works like Stripe's: a request with a key seen before returns the original
result and charges nothing; the same key with other parameters is refused.
``charges`` lists the charges the gateway actually created, ``requests`` every call.

Example:
    >>> gw = FakeGateway()
    >>> gw.script(decline("insufficient_funds"), succeed(), token="tok_1")
    >>> gw.charge(1000, "USD", "tok_1", "k1", {}).status.value
    'declined'
    >>> gw.charge(1000, "USD", "tok_1", "k2", {}).status.value
    'succeeded'
    >>> gw.charge(1000, "USD", "tok_1", "k2", {}).status.value, len(gw.charges)
    ('succeeded', 2)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from subkit.core.money import check_currency
from subkit.errors import DuplicateError, GatewayError, NotFoundError, ValidationError
from subkit.payment.results import DeclineCode, PaymentResult, PaymentStatus

__all__ = [
    "FakeCharge",
    "FakeGateway",
    "FakeRefund",
    "Outcome",
    "decline",
    "fail",
    "fail_after_charge",
    "pending",
    "succeed",
    "timeout",
]

Action = Literal["succeed", "decline", "fail", "pending", "timeout", "fail_after_charge"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the fake does with one charge; build it with the helper functions.

    Example:
        >>> decline("stolen_card").decline_code
        <DeclineCode.STOLEN_CARD: 'stolen_card'>
    """

    action: Action
    decline_code: DeclineCode | None = None
    then: Outcome | None = None


def succeed() -> Outcome:
    """The charge succeeds.

    Example:
        >>> succeed().action
        'succeed'
    """
    return Outcome("succeed")


def decline(code: str | DeclineCode = DeclineCode.GENERIC_DECLINE) -> Outcome:
    """The issuer declines with ``code``.

    Example:
        >>> decline("expired_card").decline_code.hard
        True
    """
    return Outcome("decline", DeclineCode.parse(code))


def fail(code: str | DeclineCode = DeclineCode.PROCESSING_ERROR) -> Outcome:
    """The charge fails (status ``failed``) with ``code``.

    Example:
        >>> fail().decline_code.value
        'processing_error'
    """
    return Outcome("fail", DeclineCode.parse(code))


def pending() -> Outcome:
    """The charge goes pending (a bank debit); settle it later with ``FakeGateway.settle``.

    Example:
        >>> pending().action
        'pending'
    """
    return Outcome("pending")


def timeout() -> Outcome:
    """``GatewayError`` before anything is charged (a retry with the same key charges).

    Example:
        >>> timeout().action
        'timeout'
    """
    return Outcome("timeout")


def fail_after_charge(outcome: Outcome | None = None) -> Outcome:
    """The charge happens (as ``outcome``, default success), then ``GatewayError`` is raised.

    A retry with the same idempotency key returns the recorded result: no second charge.

    Example:
        >>> fail_after_charge().then.action
        'succeed'
    """
    inner = outcome or succeed()
    if inner.action in ("timeout", "fail_after_charge"):
        raise ValidationError("fail_after_charge needs a charge outcome", field="outcome")
    return Outcome("fail_after_charge", then=inner)


@dataclass(slots=True)
class FakeCharge:
    """A charge the fake created (declined and failed charges included, as gateways do).

    Example:
        >>> gw = FakeGateway()
        >>> _ = gw.charge(500, "EUR", "tok", "k", {"invoice_id": "in_1"})
        >>> c = gw.charges[0]
        >>> (c.amount_minor, c.currency, c.status.value, c.metadata["invoice_id"])
        (500, 'EUR', 'succeeded', 'in_1')
    """

    payment_id: str
    amount_minor: int
    currency: str
    token: str
    idempotency_key: str
    metadata: dict[str, str]
    status: PaymentStatus
    decline_code: DeclineCode | None = None
    refunded_minor: int = 0


@dataclass(slots=True)
class FakeRefund:
    """A refund the fake made.

    Example:
        >>> gw = FakeGateway()
        >>> pid = gw.charge(500, "EUR", "tok", "k", {}).payment_id
        >>> _ = gw.refund(pid, 200, "r1")
        >>> gw.refunds[0].amount_minor
        200
    """

    refund_id: str
    payment_id: str
    amount_minor: int
    idempotency_key: str


@dataclass(slots=True)
class _Keyed:
    params: tuple[object, ...]
    result: PaymentResult
    payment_id: str | None


class FakeGateway:
    """An in-memory payment gateway whose answers are scripted.

    Outcomes come from the token's script, then the global script, then ``default``.

    Example:
        >>> gw = FakeGateway(default=decline("do_not_honor"))
        >>> gw.charge(100, "USD", "tok", "a", {}).decline_code.value
        'do_not_honor'
    """

    def __init__(self, *, default: Outcome | None = None) -> None:
        self.default = default or succeed()
        #: Charges created (declined and pending ones too), in order.
        self.charges: list[FakeCharge] = []
        #: Refunds made, in order.
        self.refunds: list[FakeRefund] = []
        #: The idempotency key of every charge and refund request, replays and timeouts included.
        self.requests: list[str] = []
        self._scripts: dict[str | None, deque[Outcome]] = {}
        self._keys: dict[str, _Keyed] = {}
        self._by_id: dict[str, FakeCharge] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ scripting
    def script(self, *outcomes: Outcome, token: str | None = None) -> None:
        """Queue outcomes for the next new charges of ``token`` (of any token when ``None``)."""
        with self._lock:
            self._scripts.setdefault(token, deque()).extend(outcomes)

    def _next(self, token: str) -> Outcome:
        for key in (token, None):
            queue = self._scripts.get(key)
            if queue:
                return queue.popleft()
        return self.default

    @property
    def succeeded_charges(self) -> list[FakeCharge]:
        """Charges that took money (succeeded, including settled debits)."""
        return [c for c in self.charges if c.status == PaymentStatus.SUCCEEDED]

    @property
    def captured_minor(self) -> int:
        """Money taken, net of refunds, in minor units (all currencies summed: use one in tests)."""
        return sum(c.amount_minor - c.refunded_minor for c in self.succeeded_charges)

    # ------------------------------------------------------------------ the port
    def _replay(self, key: str, params: tuple[object, ...]) -> PaymentResult | None:
        seen = self._keys.get(key)
        if seen is None:
            return None
        if seen.params != params:
            raise DuplicateError(
                f"idempotency key {key!r} was used with other parameters", field="idempotency_key"
            )
        return seen.result

    def charge(
        self, amount_minor: int, currency: str, token: str, idempotency_key: str, metadata: Mapping[str, str]
    ) -> PaymentResult:
        """Charge ``token``; replays by idempotency key; scripted outcomes otherwise."""
        if type(amount_minor) is not int or amount_minor <= 0:
            raise ValidationError("amount_minor must be a positive int", field="amount_minor")
        currency = check_currency(currency)
        # Stripe's rule: the same key with any other parameter (metadata included) is an error
        params: tuple[object, ...] = (
            "charge",
            amount_minor,
            currency,
            token,
            tuple(sorted(dict(metadata).items())),
        )
        with self._lock:
            self.requests.append(idempotency_key)
            replay = self._replay(idempotency_key, params)
            if replay is not None:
                return replay
            outcome = self._next(token)
            if outcome.action == "timeout":
                raise GatewayError("timed out talking to the gateway (nothing was charged)")
            lost = outcome.action == "fail_after_charge"
            if lost and outcome.then is not None:
                outcome = outcome.then
            status, code = {
                "succeed": (PaymentStatus.SUCCEEDED, None),
                "pending": (PaymentStatus.PENDING, None),
                "decline": (PaymentStatus.DECLINED, outcome.decline_code),
                "fail": (PaymentStatus.FAILED, outcome.decline_code),
            }[outcome.action]
            pid = f"py_{len(self.charges) + 1:06d}"
            charge = FakeCharge(
                payment_id=pid,
                amount_minor=amount_minor,
                currency=currency,
                token=token,
                idempotency_key=idempotency_key,
                metadata=dict(metadata),
                status=status,
                decline_code=code,
            )
            self.charges.append(charge)
            self._by_id[pid] = charge
            result = self._result(charge)
            self._keys[idempotency_key] = _Keyed(params, result, pid)
            if lost:
                raise GatewayError("connection reset after the gateway accepted the request")
            return result

    @staticmethod
    def _result(c: FakeCharge) -> PaymentResult:
        return PaymentResult(
            status=c.status,
            payment_id=c.payment_id,
            amount_minor=c.amount_minor,
            currency=c.currency,
            decline_code=c.decline_code,
            message="" if c.decline_code is None else f"declined: {c.decline_code.value}",
        )

    def refund(self, payment_id: str, amount_minor: int, idempotency_key: str) -> PaymentResult:
        """Refund a succeeded charge, at most what is left of it; a bad request answers ``failed``."""
        if type(amount_minor) is not int or amount_minor <= 0:
            raise ValidationError("amount_minor must be a positive int", field="amount_minor")
        params: tuple[object, ...] = ("refund", payment_id, amount_minor)
        with self._lock:
            self.requests.append(idempotency_key)
            replay = self._replay(idempotency_key, params)
            if replay is not None:
                return replay
            charge = self._by_id.get(payment_id)
            if charge is None:
                raise NotFoundError(f"no payment {payment_id!r} at the fake gateway", field="payment_id")
            left = charge.amount_minor - charge.refunded_minor
            if charge.status != PaymentStatus.SUCCEEDED or amount_minor > left:
                result = PaymentResult(
                    status=PaymentStatus.FAILED,
                    amount_minor=amount_minor,
                    currency=charge.currency,
                    message=f"cannot refund {amount_minor} of {payment_id} ({left} refundable)",
                )
                self._keys[idempotency_key] = _Keyed(params, result, None)
                return result
            charge.refunded_minor += amount_minor
            rid = f"re_{len(self.refunds) + 1:06d}"
            self.refunds.append(FakeRefund(rid, payment_id, amount_minor, idempotency_key))
            result = PaymentResult(
                status=PaymentStatus.SUCCEEDED,
                payment_id=rid,
                amount_minor=amount_minor,
                currency=charge.currency,
            )
            self._keys[idempotency_key] = _Keyed(params, result, rid)
            return result

    def retrieve(self, payment_id: str) -> PaymentResult:
        """The current state of a charge."""
        with self._lock:
            charge = self._by_id.get(payment_id)
            if charge is None:
                raise NotFoundError(f"no payment {payment_id!r} at the fake gateway", field="payment_id")
            return self._result(charge)

    # ------------------------------------------------------------------ test controls
    def settle(
        self, payment_id: str, succeeded: bool = True, decline_code: str | DeclineCode | None = None
    ) -> PaymentResult:
        """Settle a pending charge: succeeded, or failed (a returned debit) with ``decline_code``."""
        with self._lock:
            charge = self._by_id.get(payment_id)
            if charge is None:
                raise NotFoundError(f"no payment {payment_id!r} at the fake gateway", field="payment_id")
            if charge.status != PaymentStatus.PENDING:
                raise ValidationError(
                    f"payment {payment_id} is {charge.status.value}, not pending", field="payment_id"
                )
            if succeeded:
                charge.status = PaymentStatus.SUCCEEDED
            else:
                charge.status = PaymentStatus.FAILED
                charge.decline_code = DeclineCode.parse(
                    decline_code.value if isinstance(decline_code, DeclineCode) else decline_code
                )
            return self._result(charge)
