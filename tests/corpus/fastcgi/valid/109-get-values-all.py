"""FCGI_GET_VALUES for the three names the spec defines: answered in the order asked,
with the values of the Limits the connection was given (not invented ones)."""

from tests.corpus.fastcgi.helpers import get_values, get_values_result

limits = dict(max_conns=17, max_reqs=5)

records = [get_values("FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS")]

expect = []

reply = get_values_result([("FCGI_MAX_CONNS", "17"), ("FCGI_MAX_REQS", "5"), ("FCGI_MPXS_CONNS", "1")])
