"""The "(" is a delimiter, not a tchar (RFC 9110 5.6.2)."""

status = 400
