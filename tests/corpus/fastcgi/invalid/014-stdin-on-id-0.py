"""STDIN with the null request id (even an empty one)."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import stdin_end

records = [stdin_end(0)]

error = (RemoteProtocolError, "STDIN record with request id 0")
