"""A Content-Length list, even of one repeated value: refused."""

status = 400
