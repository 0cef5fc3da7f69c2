"""A target one byte over max_request_line (64 here): 414."""

status = 414

limits = dict(max_request_line=64)
