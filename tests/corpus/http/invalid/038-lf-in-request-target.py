"""An LF inside the request target."""

status = 400
