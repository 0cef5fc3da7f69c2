"""Version 0 in the very first header: only version 1 exists; close at once."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin

records = [begin(1, version=0)]

error = (RemoteProtocolError, "unsupported FastCGI version 0")
