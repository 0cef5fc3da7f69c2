"""One name-value pair more than max_params."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, params, params_end, stdin_end

limits = dict(max_params=3)

records = [
    begin(1),
    params(1, {"A": "1", "B": "2", "C": "3", "D": "4"}),
    params_end(1),
    stdin_end(1),
]

error = (RemoteProtocolError, "more than 3 PARAMS pairs")
