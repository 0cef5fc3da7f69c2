"""BEGIN_REQUEST whose body is 7 bytes instead of 8."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import BEGIN_REQUEST, record

records = [record(BEGIN_REQUEST, 1, b"\x00\x01\x00\x00\x00\x00\x00")]

error = (RemoteProtocolError, "BEGIN_REQUEST body of 7 bytes")
