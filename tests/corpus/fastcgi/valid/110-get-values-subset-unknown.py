"""FCGI_GET_VALUES asking a subset plus names we do not know: only the known names
are answered (spec 4.1); values sent with the names are ignored."""

from tests.corpus.fastcgi.helpers import GET_VALUES, get_values, get_values_result, pairs, record

limits = dict(max_reqs=9)

records = [
    get_values("FCGI_MPXS_CONNS", "FCGI_NO_SUCH_NAME"),
    get_values("X_UNKNOWN"),
    record(GET_VALUES, 0, pairs([("FCGI_MAX_REQS", "ignored"), ("fcgi_max_conns", "")])),
]

expect = []

reply = (
    get_values_result([("FCGI_MPXS_CONNS", "1")])
    + get_values_result([])
    + get_values_result([("FCGI_MAX_REQS", "9")])
)
