"""Raw UTF-8 in the target: it must be percent-encoded (RFC 3986 2.1)."""

status = 400
