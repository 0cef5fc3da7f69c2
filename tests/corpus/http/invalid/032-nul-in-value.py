"""RFC 9110 5.5: NUL in a field value MUST be rejected or replaced."""

status = 400
