"""RFC 9112 6.1: a sender MUST NOT apply chunked more than once."""

status = 400
