"""Whitespace between the request-line and the first field (RFC 9112 2.2: reject,
or it could hide a field from one side)."""

status = 400
