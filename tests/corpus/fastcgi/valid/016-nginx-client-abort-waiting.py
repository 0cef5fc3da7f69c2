"""nginx-client-abort-waiting.bin: GET; the HTTP client closed after 0.5 s while the backend took 2 s:
nginx closed the upstream connection at once (plain EOF, no ABORT_REQUEST). EOF aborts the
dispatched request.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import eof

# Between pieces of input: the backend answers (the web server waits for it),
# then the web server closes the connection.
actions_at = {
    512: [eof()],
}

expect = [
    # request 1: 21 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "case=g1",
            "REQUEST_METHOD": "GET",
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/slow/abort",
            "REQUEST_URI": "/slow/abort?case=g1",
            "DOCUMENT_URI": "/slow/abort",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "48154",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "abort-client/1.0",
        },
        False,
        "RESPONDER",
    ),
    ("end", 1),
    # EOF: the request was dispatched and never answered
    ("aborted", 1),
]
