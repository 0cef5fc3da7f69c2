"""An unencoded space inside the target splits the request-line in four."""

status = 400
