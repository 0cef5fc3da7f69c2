"""...and to any request "that contains more than one Host header field line"
(RFC 9112 3.2): which one a proxy routed on is unknowable."""

status = 400
