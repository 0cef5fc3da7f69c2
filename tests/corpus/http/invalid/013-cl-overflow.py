"""A Content-Length beyond 64 bits must not wrap around to a small number."""

status = 400
