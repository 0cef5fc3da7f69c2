"""Two Host lines with the same value are still two."""

status = 400
