"""HTTP/0.9 spelled out is not served either."""

status = 400
