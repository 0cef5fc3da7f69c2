"""One field line ended by LF alone, amid CRLF lines."""

status = 400
