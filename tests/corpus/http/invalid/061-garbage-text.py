"""Text that is not a request-line."""

status = 400
