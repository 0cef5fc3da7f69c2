"""BEGIN_REQUEST whose body is 9 bytes instead of 8 (padding is not content)."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import BEGIN_REQUEST, record

records = [record(BEGIN_REQUEST, 1, b"\x00\x01\x01\x00\x00\x00\x00\x00\x00", padding=7)]

error = (RemoteProtocolError, "BEGIN_REQUEST body of 9 bytes")
