"""Lines ended by LF alone (RFC 9112 2.2 allows accepting them; we do not, as
a front end might not split on them the same way)."""

status = 400
