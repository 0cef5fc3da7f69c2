"""Whitespace after the chunk size (BWS before ";" only comes with an extension)."""

status = 400

started = True  # the head was fine: the app saw it, the body then broke it
