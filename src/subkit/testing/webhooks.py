"""A fake webhook transport for tests: a handler answers each request (as httpx's MockTransport).

Example:
    >>> transport = MockTransport(lambda request: 200)
    >>> transport.send("https://crm.test/hooks", b'{"id":"evt_1"}', {"Subkit-Signature": "t=1,v1=ab"}, 5.0)
    200
    >>> transport.requests[0].url, transport.requests[0].body
    ('https://crm.test/hooks', b'{"id":"evt_1"}')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["MockTransport", "WebhookRequest"]


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One request a :class:`MockTransport` was asked to send.

    Example:
        >>> WebhookRequest("https://x.test", b"{}", {}).body
        b'{}'
    """

    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class MockTransport:
    """A :class:`~subkit.ports.WebhookTransport` whose ``handler(request)`` returns the status code.

    The handler may raise to play a transport failure (a timeout); every request is kept in
    ``requests``, answered or not.

    Example:
        >>> t = MockTransport(lambda r: 500 if len(t.requests) == 1 else 200)
        >>> [t.send("https://x.test", b"{}", {}, 1.0) for _ in range(2)]
        [500, 200]
    """

    def __init__(self, handler: Callable[[WebhookRequest], int] = lambda request: 200) -> None:
        self.handler = handler
        self.requests: list[WebhookRequest] = []

    def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,  # float ok: seconds
    ) -> int:
        """Record the request and return the handler's status code (or raise what it raises)."""
        request = WebhookRequest(url, bytes(body), dict(headers))
        self.requests.append(request)
        return self.handler(request)
