"""obs-fold (a line starting with a space): RFC 9112 5.2 lets a server reject it
with 400, which is what we do (unfolding could differ from a front end's)."""

status = 400
