"""chunked must be the final coding (RFC 9112 6.1)."""

status = 400
