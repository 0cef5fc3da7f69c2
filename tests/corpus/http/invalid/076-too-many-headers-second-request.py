"""The header count is per request: the first (3 fields) passes, the second
(4 fields, max_headers 3) is refused as request 2."""

status = 431

before = 1

limits = dict(max_headers=3)
