"""A name length with no value length after it."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end

records = [
    begin(1),
    params(1, raw=pairs({"OK": "1"}) + b"\x05"),
    params_end(1),
]

error = (RemoteProtocolError, "truncated name-value pair")
