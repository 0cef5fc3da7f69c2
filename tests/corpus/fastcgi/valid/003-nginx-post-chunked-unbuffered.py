"""nginx-post-chunked-unbuffered.bin: chunked POST (30000 bytes), fastcgi_request_buffering off:
CONTENT_LENGTH empty, STDIN in odd padded records.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import BODY100K

expect = [
    # request 1: 23 PARAMS pairs, 30000 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "mode=unbuffered",
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "text/plain",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/stream/chunked",
            "REQUEST_URI": "/stream/chunked?mode=unbuffered",
            "DOCUMENT_URI": "/stream/chunked",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "54136",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_CONTENT_TYPE": "text/plain",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "HTTP_USER_AGENT": "chunked-client/1.0",
        },
        False,
        "RESPONDER",
    ),
    ("body", 1, BODY100K[:30000]),
    ("end", 1),
]
