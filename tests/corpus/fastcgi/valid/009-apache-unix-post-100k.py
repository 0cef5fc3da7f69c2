"""apache-unix-post-100k.bin: Apache POST of the 100 KB test body: STDIN streamed in 12 x 8192 + 4096
unpadded records.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import BODY100K

expect = [
    # request 1: 25 PARAMS pairs, 102400 body bytes
    (
        "started",
        1,
        {
            "HTTP_HOST": "127.0.0.1:18633",
            "HTTP_USER_AGENT": "curl/7.88.1",
            "HTTP_ACCEPT": "*/*",
            "CONTENT_TYPE": "application/octet-stream",
            "CONTENT_LENGTH": "102400",
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
            "SCRIPT_FILENAME": "proxy:fcgi://localhost/upload",
            "REMOTE_PORT": "46046",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "POST",
            "QUERY_STRING": "kind=buffered",
            "REQUEST_URI": "/app/upload?kind=buffered",
            "SCRIPT_NAME": "/app/upload",
        },
        False,
        "RESPONDER",
    ),
    ("body", 1, BODY100K),
    ("end", 1),
]
