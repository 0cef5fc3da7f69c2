"""Digits separated by a space."""

status = 400
