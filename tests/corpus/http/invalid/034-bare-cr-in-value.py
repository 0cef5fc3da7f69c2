"""RFC 9112 2.2: a bare CR in a field value MUST be rejected or replaced with SP
(a front end treating it as a line end would see another field)."""

status = 400
