"""NULs and high bytes."""

status = 400
