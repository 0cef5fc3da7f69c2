"""A pair whose lengths (10 + 5) run past the end of the PARAMS stream (12 bytes)."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params, params_end, stdin_end

records = [
    begin(1),
    params(1, raw=bytes((10, 5)) + b"NAME_ONLY_"),
    params_end(1),
    stdin_end(1),
]

error = (RemoteProtocolError, "run past the end of PARAMS")
