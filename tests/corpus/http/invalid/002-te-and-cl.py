"""TE.CL: the same pair in the other order."""

status = 400
