"""A size "0x5" is the last chunk "0" followed by garbage, not 5."""

status = 400

started = True  # the head was fine: the app saw it, the body then broke it
