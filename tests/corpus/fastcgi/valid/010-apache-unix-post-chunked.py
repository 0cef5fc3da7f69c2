"""apache-unix-post-chunked.bin: Apache chunked POST (30000 bytes): CONTENT_LENGTH absent, STDIN 8192 +
1808 per HTTP chunk.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import BODY100K

expect = [
    # request 1: 24 PARAMS pairs, 30000 body bytes
    (
        "started",
        1,
        {
            "HTTP_HOST": "127.0.0.1:18633",
            "CONTENT_TYPE": "text/plain",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "HTTP_USER_AGENT": "chunked-client/1.0",
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SERVER_SIGNATURE": "",
            "SERVER_SOFTWARE": "Apache/2.4.71 (Debian)",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18633",
            "REMOTE_ADDR": "127.0.0.1",
            "DOCUMENT_ROOT": "/var/www/html",
            "REQUEST_SCHEME": "http",
            "CONTEXT_PREFIX": "",
            "CONTEXT_DOCUMENT_ROOT": "/var/www/html",
            "SERVER_ADMIN": "[no address given]",
            "SCRIPT_FILENAME": "proxy:fcgi://localhost/chunked",
            "REMOTE_PORT": "46060",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "POST",
            "QUERY_STRING": "mode=chunked",
            "REQUEST_URI": "/app/chunked?mode=chunked",
            "SCRIPT_NAME": "/app/chunked",
        },
        False,
        "RESPONDER",
    ),
    ("body", 1, BODY100K[:30000]),
    ("end", 1),
]
