"""Field lines adding up past max_header_size (256 here), each small: 431."""

status = 431

limits = dict(max_header_size=256)
