"""Case does not hide the CL+TE pair."""

status = 400
