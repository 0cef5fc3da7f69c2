"""Whitespace before the method."""

status = 400
