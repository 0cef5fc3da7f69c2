"""A GET_VALUES whose name-value stream is malformed (a length past its end)."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import GET_VALUES, record

records = [record(GET_VALUES, 0, b"\x0e\x00FCGI_MAX")]

error = (RemoteProtocolError, "run past the end of GET_VALUES")
