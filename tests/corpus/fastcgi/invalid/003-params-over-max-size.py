"""A PARAMS stream one byte over max_params_size, in two records (the sum counts)."""

from fcgigate.protocols.errors import RemoteProtocolError
from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end, stdin_end

ITEMS = {"A": "1", "B": "2", "C": "x" * 51}
limits = dict(max_params_size=len(pairs(ITEMS)) - 1)

records = [
    begin(1),
    params(1, ITEMS, cuts=(7,)),
    params_end(1),
    stdin_end(1),
]

error = (RemoteProtocolError, f"exceed {len(pairs(ITEMS)) - 1} bytes")
