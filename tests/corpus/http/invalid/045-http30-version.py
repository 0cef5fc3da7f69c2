"""Major version 3 in HTTP/1.1 syntax: 505, like 2.0 (http.py line "505 if
version[0] in '23'" says so; llhttp must not answer first with a 400)."""

status = 505
