"""DEL is neither VCHAR nor obs-text."""

status = 400
