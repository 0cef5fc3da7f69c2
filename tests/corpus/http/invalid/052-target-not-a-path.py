"""origin-form starts with "/" (RFC 9112 3.2.1)."""

status = 400
