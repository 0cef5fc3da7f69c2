"""Three good requests, then binary garbage where the fourth should begin."""

status = 400
before = 3
