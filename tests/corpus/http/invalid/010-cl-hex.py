"""A hex Content-Length."""

status = 400
