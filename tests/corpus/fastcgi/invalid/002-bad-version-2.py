"""Version 2 in the middle of an otherwise good request."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params, params_end

records = [
    begin(1),
    params(1, {"A": "1"}),
    params_end(1, version=2),
]

error = (RemoteProtocolError, "unsupported FastCGI version 2")
