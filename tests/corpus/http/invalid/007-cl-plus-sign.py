"""Content-Length = 1*DIGIT (RFC 9110 8.6): a sign is not a digit (int("+5") is 5:
a hand parser using int() would accept it)."""

status = 400
