"""PARAMS exactly at max_params_size bytes and exactly max_params pairs are accepted
(the invalid corpus has one byte and one pair more)."""

from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end, stdin_end

ITEMS = {"A": "1", "B": "2", "C": "x" * 50}
limits = dict(max_params=3, max_params_size=len(pairs(ITEMS)))

records = [
    begin(1),
    params(1, ITEMS, cuts=(7,)),
    params_end(1),
    stdin_end(1),
]

expect = [
    ("started", 1, ITEMS, False, "RESPONDER"),
    ("end", 1),
]
