"""A single value longer than max_header_size (256 here): 431."""

status = 431

limits = dict(max_header_size=256)
