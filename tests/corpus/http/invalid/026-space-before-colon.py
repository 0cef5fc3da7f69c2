"""RFC 9112 5.1: "A server MUST reject, with a response status code of 400 (Bad
Request), any received request message that contains whitespace between a header
field name and colon."
"""

status = 400
