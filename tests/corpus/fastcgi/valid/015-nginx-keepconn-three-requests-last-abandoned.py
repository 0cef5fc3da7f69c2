"""nginx-keepconn-three-requests-last-abandoned.bin: kept connection: GET and POST answered, then
request 3 (id 1 again) whose HTTP client left after 0.5 s while the backend was still working: nginx
closed the whole kept connection (EOF, no ABORT_REQUEST). EOF aborts request 3 only.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import eof, respond

# Between pieces of input: the backend answers (the web server waits for it),
# then the web server closes the connection.
actions_at = {
    512: [respond(1)],
    1160: [respond(1)],
    1680: [eof()],
}

expect = [
    # request 1: 22 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "n=1",
            "REQUEST_METHOD": "GET",
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/keep/first",
            "REQUEST_URI": "/keep/first?n=1",
            "DOCUMENT_URI": "/keep/first",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "54152",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "curl/7.88.1",
            "HTTP_ACCEPT": "*/*",
        },
        True,
        "RESPONDER",
    ),
    ("end", 1),
    # request 2: 24 PARAMS pairs, 14 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "n=2",
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": "14",
            "SCRIPT_NAME": "/keep/second",
            "REQUEST_URI": "/keep/second?n=2",
            "DOCUMENT_URI": "/keep/second",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "54154",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "curl/7.88.1",
            "HTTP_ACCEPT": "*/*",
            "HTTP_CONTENT_LENGTH": "14",
            "HTTP_CONTENT_TYPE": "application/x-www-form-urlencoded",
        },
        True,
        "RESPONDER",
    ),
    ("body", 1, b"name=value&x=2"),
    ("end", 1),
    # request 3: 21 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "case=g2",
            "REQUEST_METHOD": "GET",
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/keepslow/abort",
            "REQUEST_URI": "/keepslow/abort?case=g2",
            "DOCUMENT_URI": "/keepslow/abort",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "56808",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "abort-client/1.0",
        },
        True,
        "RESPONDER",
    ),
    ("end", 1),
    # EOF: the request was dispatched and never answered
    ("aborted", 1),
]
