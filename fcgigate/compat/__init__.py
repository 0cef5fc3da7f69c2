"""Drop-in replacements for the APIs of the servers fcgigate replaces.

Each module here mimics one peer's public face and serves with fcgigate's own
code; none imports the peer. This is a top floor, like ``cli``: it may import
``config``, ``worker``, ``sockets``, ``logs``, ``loops`` and ``daemon``, and
nothing imports it.
"""
