"""apache-tcp-reuse-get-then-post-100k.bin: Apache enablereuse=on: GET then the 100 KB POST on one TCP
connection (KEEP_CONN set, id 1 reused).

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import BODY100K, eof, respond

# Between pieces of input: the backend answers (the web server waits for it),
# then the web server closes the connection.
actions_at = {
    720: [respond(1)],
    103957: [respond(1), eof()],
}

expect = [
    # request 1: 25 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "HTTP_HOST": "127.0.0.1:18633",
            "HTTP_USER_AGENT": "capture-test/1.0",
            "HTTP_ACCEPT": "*/*",
            "HTTP_COOKIE": "a=1; b=two",
            "HTTP_X_CUSTOM": "hello world",
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
            "SCRIPT_FILENAME": "proxy:fcgi://127.0.0.1:18631/path",
            "REMOTE_PORT": "46064",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "x=1&y=%20z",
            "REQUEST_URI": "/tcp/path?x=1&y=%20z",
            "SCRIPT_NAME": "/tcp/path",
        },
        True,
        "RESPONDER",
    ),
    ("end", 1),
    # request 2: 25 PARAMS pairs, 102400 body bytes
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
            "SCRIPT_FILENAME": "proxy:fcgi://127.0.0.1:18631/upload",
            "REMOTE_PORT": "46074",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "POST",
            "QUERY_STRING": "kind=reuse",
            "REQUEST_URI": "/tcp/upload?kind=reuse",
            "SCRIPT_NAME": "/tcp/upload",
        },
        True,
        "RESPONDER",
    ),
    ("body", 1, BODY100K),
    ("end", 1),
]
