"""A method with a delimiter in it."""

status = 400
