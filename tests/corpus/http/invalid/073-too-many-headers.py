"""Six field lines where max_headers is 5: 431."""

status = 431

limits = dict(max_headers=5)
