"""Protocol errors that carry their answer.

A protocol raises :class:`RemoteProtocolError` when the peer broke the rules and
:class:`LocalProtocolError` when our own side asked for something illegal (a
response for a request that does not exist, say). Each carries the answer the
glue should give: an HTTP status for HTTP peers, and for FastCGI either a
protocol status to put in an END_REQUEST or ``None``, which means "this
connection cannot be trusted any more: close it". The glue translates them at
one place; nothing else catches them.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class. ``http_status`` is the status an HTTP client should get."""

    def __init__(
        self, message: str, *, http_status: int = 400, fcgi_protocol_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.fcgi_protocol_status = fcgi_protocol_status


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol or one of our limits."""


class LocalProtocolError(ProtocolError):
    """Our side used the connection wrongly (a bug in the caller, not the peer)."""
