"""An HTTP transport for webhooks over httpx (optional: ``pip install 'subkit[web]'``).

Example:
    >>> import httpx
    >>> seen = []
    >>> client = httpx.Client(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204)))
    >>> HttpxTransport(client).send("https://crm.test/hooks", b"{}", {"Subkit-Signature": "t=1,v1=ab"}, 5.0)
    204
    >>> seen[0].method, seen[0].headers["subkit-signature"]
    ('POST', 't=1,v1=ab')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["HttpxTransport"]


class HttpxTransport:
    """A :class:`~subkit.ports.WebhookTransport` that POSTs with an ``httpx.Client`` (made if not given).

    Redirects are not followed (a webhook endpoint answers itself); transport errors
    (timeouts, refused connections) propagate for the relay to retry.

    Example:
        >>> HttpxTransport.__name__
        'HttpxTransport'
    """

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import httpx

            client = httpx.Client(follow_redirects=False)
        self.client = client

    def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,  # float ok: seconds
    ) -> int:
        """POST ``body`` to ``url``; the status code."""
        response = self.client.post(url, content=body, headers=dict(headers), timeout=timeout)
        return int(response.status_code)

    def close(self) -> None:
        """Close the client."""
        self.client.close()
