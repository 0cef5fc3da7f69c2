"""DATA with the null request id."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import DATA, record

records = [record(DATA, 0, b"x")]

error = (RemoteProtocolError, "DATA record with request id 0")
