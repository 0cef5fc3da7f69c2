"""The Host rule applies to each request of a connection, not just the first."""

status = 400
before = 1
