"""Retrying a gateway call that could not reach the gateway: exponential backoff with full jitter.

Only transport failures (:class:`~subkit.errors.GatewayError`) are retried, and only calls
that carry an idempotency key, so a retry can never charge twice: the gateway answers a
repeated key with the first result. A decline is an answer, not a failure: it goes to
dunning, never here. The delay before retry ``n`` (1-based) is a uniform draw in
``[0, min(cap, base * 2 ** (n - 1))]`` ("full jitter", as AWS's architecture blog
"Exponential Backoff And Jitter" recommends), so that many workers do not retry in step.

Example:
    >>> import random
    >>> policy = RetryPolicy(attempts=3, base=0.5, cap=1.5)
    >>> [policy.ceiling(n) for n in (1, 2, 3)]
    [0.5, 1.0, 1.5]
    >>> calls = []
    >>> def flaky() -> str:
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise GatewayError("connection reset")
    ...     return "ok"
    >>> slept = []
    >>> retry_call(flaky, policy, sleep=slept.append, rng=random.Random(7), what="charge in_1")
    'ok'
    >>> len(calls), len(slept), all(0 <= s <= 1.0 for s in slept)
    (3, 2, True)
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from subkit.errors import GatewayError, ValidationError
from subkit.payment.pci import mask_card_numbers

__all__ = ["NO_RETRY", "RetryPolicy", "retry_call"]

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to call, and how long to wait at most before each retry (seconds).

    Example:
        >>> RetryPolicy().attempts, RetryPolicy().ceiling(10)
        (3, 2.0)
    """

    attempts: int = 3
    base: float = 0.25  # float ok: seconds
    cap: float = 2.0  # float ok: seconds

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < 0:
            raise ValidationError("a retry policy needs attempts >= 1 and delays >= 0", field="retry")

    def ceiling(self, n: int) -> float:  # float ok: seconds
        """The longest wait before retry ``n`` (1-based): ``min(cap, base * 2 ** (n - 1))``."""
        return float(min(self.cap, self.base * 2 ** (n - 1)))  # float ok: seconds


#: Call once, never wait (for tests and hosts that retry themselves).
NO_RETRY = RetryPolicy(attempts=1, base=0, cap=0)


def retry_call(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """``call()``, retried on ``GatewayError`` per ``policy``; the last error is raised.

    Every failed try is logged at WARNING on ``subkit.services.retry`` with ``what``.
    """
    draw = (rng or random).uniform
    for n in range(1, policy.attempts + 1):
        try:
            return call()
        except GatewayError as exc:
            if n == policy.attempts:
                log.warning("%s: gateway unreachable (try %d of %d, giving up): %s", what, n, n, _safe(exc))
                raise
            delay = draw(0, policy.ceiling(n))
            log.warning(
                "%s: gateway unreachable (try %d of %d), retrying in %.2fs: %s",
                what,
                n,
                policy.attempts,
                delay,
                _safe(exc),
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _safe(exc: BaseException) -> str:
    """An error's text fit for a log line: card-number-like runs masked."""
    return mask_card_numbers(str(exc))
