"""Trailing garbage after the digits."""

status = 400
