"""RFC 9112 6.1: "A server or client that receives an HTTP/1.0 message containing
a Transfer-Encoding header field MUST treat the message as if the framing is
faulty" - an HTTP/1.0 front end does not know chunked and would frame it
differently."""

status = 400
