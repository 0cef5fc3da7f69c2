"""Name and value lengths at the 1-byte/4-byte boundary: 127 fits in one byte, 128
needs four (spec 3.4); and a 4-byte form used for short lengths is still valid."""

from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end, stdin_end

N127, N128 = "N" * 127, "M" * 128
records = [
    begin(1),
    params(1, {N127: "v" * 128, N128: "w" * 127, "EMPTY": ""}),
    params(1, raw=pairs({"FOUR_BYTE_FORM": "short"}, long=True)),
    params_end(1),
    stdin_end(1),
]

expect = [
    (
        "started",
        1,
        {N127: "v" * 128, N128: "w" * 127, "EMPTY": "", "FOUR_BYTE_FORM": "short"},
        False,
        "RESPONDER",
    ),
    ("end", 1),
]
