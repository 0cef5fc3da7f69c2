"""nginx-post-100k-buffered.bin: POST of the 100 KB test body, request buffering on: STDIN in 3 x 32768
+ 4096 records.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import BODY100K

expect = [
    # request 1: 24 PARAMS pairs, 102400 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "kind=buffered",
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "application/octet-stream",
            "CONTENT_LENGTH": "102400",
            "SCRIPT_NAME": "/post/upload",
            "REQUEST_URI": "/post/upload?kind=buffered",
            "DOCUMENT_URI": "/post/upload",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "52474",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "curl/7.88.1",
            "HTTP_ACCEPT": "*/*",
            "HTTP_CONTENT_TYPE": "application/octet-stream",
            "HTTP_CONTENT_LENGTH": "102400",
        },
        False,
        "RESPONDER",
    ),
    ("body", 1, BODY100K),
    ("end", 1),
]
