"""A negative chunk size."""

status = 400

started = True  # the head was fine: the app saw it, the body then broke it
