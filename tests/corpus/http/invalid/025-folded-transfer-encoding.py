"""A folded Transfer-Encoding: a front end that does not unfold sees an empty TE
and uses Content-Length."""

status = 400
