"""chunked twice, over two field lines (which combine into one list)."""

status = 400
