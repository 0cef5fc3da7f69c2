"""`gzip, chunked` is framed well, but the app would get a body still gzip-encoded
under a coding it never asked for: 501 (as nginx answers), refused from the head."""

status = 501
