"""BEGIN_REQUEST with the null request id, which is reserved for management records."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin

records = [begin(0)]

error = (RemoteProtocolError, "BEGIN_REQUEST record with request id 0")
