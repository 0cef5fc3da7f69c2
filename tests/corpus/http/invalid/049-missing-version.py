"""A request-line with a trailing space and no version."""

status = 400
