"""Two different Content-Length values (CL.CL smuggling): RFC 9112 6.3 item 5,
the message framing is invalid: 400."""

status = 400
