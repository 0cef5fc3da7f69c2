"""Two Content-Length lines, even equal: refused (RFC 9112 6.3 allows accepting
identical values; refusing is the safe side and what llhttp does)."""

status = 400
