"""An HTTP request sent to the FastCGI port: the first byte 'G' reads as version 71."""

from fcgigate.protocols.errors import RemoteProtocolError

records = [b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"]

error = (RemoteProtocolError, "unsupported FastCGI version 71")
