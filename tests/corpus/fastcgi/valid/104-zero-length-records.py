"""Zero-length records: an empty GET_VALUES (empty answer), an empty PARAMS stream
(no pairs at all), an empty body; each empty record may still carry padding."""

from tests.corpus.fastcgi.helpers import GET_VALUES, begin, get_values_result, params_end, record, stdin_end

records = [
    record(GET_VALUES, 0, b"", padding=0),
    begin(1),
    params_end(1, padding=0),
    stdin_end(1, padding=7),
    begin(2),
    params_end(2, padding=8),
    stdin_end(2, padding=0),
]

expect = [
    ("started", 1, {}, False, "RESPONDER"),
    ("end", 1),
    ("started", 2, {}, False, "RESPONDER"),
    ("end", 2),
]

reply = get_values_result([])
