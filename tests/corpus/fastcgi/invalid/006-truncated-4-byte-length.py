"""A name length with the high bit set (4-byte form) but only 2 bytes of it left."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end, stdin_end

records = [
    begin(1),
    params(1, raw=pairs({"OK": "1"}) + b"\x80\x00"),
    params_end(1),
    stdin_end(1),
]

error = (RemoteProtocolError, "truncated 4-byte length")
