"""A NUL inside the target."""

status = 400
