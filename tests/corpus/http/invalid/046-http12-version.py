"""HTTP/1.2 does not exist. RFC 9110 2.5 would process it as 1.1; llhttp in strict
mode refuses it, and we answer 400 (a deliberate simplification: no client sends it)."""

status = 400
