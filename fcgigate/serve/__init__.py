"""The asyncio glue between sockets, the sans-I/O protocols and the WSGI runner."""
