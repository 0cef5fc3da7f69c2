"""A CR inside the request target."""

status = 400
