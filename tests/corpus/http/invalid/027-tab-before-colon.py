"""A tab between name and colon."""

status = 400
