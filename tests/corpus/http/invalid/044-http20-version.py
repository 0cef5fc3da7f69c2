"""An HTTP/1.1 message claiming major version 2: 505 (RFC 9110 15.6.6)."""

status = 505
