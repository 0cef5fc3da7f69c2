"""RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to
any HTTP/1.1 request message that lacks a Host header field"
"""

status = 400
