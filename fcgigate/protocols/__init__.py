"""Sans-I/O wire protocols: bytes in, events out; events in, bytes out.

Nothing in this package touches a socket, a thread, a clock or the logging
configuration, and nothing here imports ``fcgigate.config``: limits arrive as
small frozen values.
"""
