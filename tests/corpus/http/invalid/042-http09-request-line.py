"""An HTTP/0.9 simple request (no version): not served."""

status = 400
