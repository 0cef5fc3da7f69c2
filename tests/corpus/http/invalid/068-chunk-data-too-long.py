"""Chunk data longer than its size: no CRLF where one must be. The three
announced bytes come out as body before the missing CRLF is seen."""

status = 400

started = True  # the head was fine: the app saw it, the body then broke it
