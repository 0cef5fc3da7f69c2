"""Fixture WSGI applications (PEP 3333, standard library only) the daemon serves in tests.

Each module has an ``app``; the daemon imports them as ``tests.apps.<name>:app``.
"""
