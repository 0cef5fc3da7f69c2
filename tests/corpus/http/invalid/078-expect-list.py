"""100-continue among unknown expectations is still unmet: 417."""

status = 417
