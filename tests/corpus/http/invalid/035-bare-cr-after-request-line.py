"""A request-line ended by CR alone."""

status = 400
