"""cgi-fcgi-unix-post.bin: cgi-fcgi POST, CONTENT_LENGTH=5000, one 5000-byte STDIN record.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import BODY100K

expect = [
    # request 1: 6 PARAMS pairs, 5000 body bytes
    (
        "started",
        1,
        {
            "PATH": "/usr/bin:/bin",
            "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": "5000",
            "CONTENT_TYPE": "application/octet-stream",
            "SCRIPT_NAME": "/x",
            "QUERY_STRING": "b=2",
        },
        False,
        "RESPONDER",
    ),
    ("body", 1, BODY100K[:5000]),
    ("end", 1),
]
