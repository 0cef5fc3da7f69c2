"""A second field line makes the list "chunked, identity": chunked is not last."""

status = 400
