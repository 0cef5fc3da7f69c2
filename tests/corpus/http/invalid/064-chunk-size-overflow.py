"""A chunk size past 64 bits must not wrap around (a desync if it did)."""

status = 400

started = True  # the head was fine: the app saw it, the body then broke it
