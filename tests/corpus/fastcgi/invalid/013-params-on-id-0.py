"""PARAMS with the null request id."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params

records = [begin(1), params(0, {"A": "1"})]

error = (RemoteProtocolError, "PARAMS record with request id 0")
