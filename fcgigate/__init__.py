"""fcgigate: a pre-forking WSGI gateway for FastCGI and HTTP/1.1."""

__version__ = "0.1.0"
