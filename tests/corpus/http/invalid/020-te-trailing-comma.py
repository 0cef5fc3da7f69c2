"""An empty list element after chunked."""

status = 400
