"""A tab inside the target."""

status = 400
