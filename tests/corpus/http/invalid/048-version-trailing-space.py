"""A space after the version."""

status = 400
