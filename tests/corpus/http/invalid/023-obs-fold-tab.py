"""obs-fold with a tab."""

status = 400
