"""RFC 9112 6.3: a request whose Transfer-Encoding does not end in chunked has a
length that cannot be determined: 400, then close. The refusal is made from the
head, so the request never reaches the app."""

status = 400
