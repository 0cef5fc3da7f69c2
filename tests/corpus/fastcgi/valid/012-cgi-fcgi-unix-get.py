"""cgi-fcgi-unix-get.bin: cgi-fcgi (libfcgi 2.4.2) GET: its whole (clean) environment as PARAMS, padded
to 8.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

expect = [
    # request 1: 4 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "PATH": "/usr/bin:/bin",
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "a=1",
            "SCRIPT_NAME": "/x",
        },
        False,
        "RESPONDER",
    ),
    ("end", 1),
]
