"""nginx-client-abort-mid-stdin.bin: chunked POST, fastcgi_request_buffering off; the HTTP client went
away after one 10-byte chunk and nginx closed the upstream connection WITHOUT the empty STDIN record
and without ABORT_REQUEST. EOF aborts the dispatched request.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import eof

# Between pieces of input: the backend answers (the web server waits for it),
# then the web server closes the connection.
actions_at = {
    600: [eof()],
}

expect = [
    # request 1: 23 PARAMS pairs, 10 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "case=g3",
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "text/plain",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/stream/abort",
            "REQUEST_URI": "/stream/abort?case=g3",
            "DOCUMENT_URI": "/stream/abort",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "56814",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "abort-client/1.0",
            "HTTP_CONTENT_TYPE": "text/plain",
            "HTTP_TRANSFER_ENCODING": "chunked",
        },
        False,
        "RESPONDER",
    ),
    ("body", 1, b"0123456789"),
    # EOF: the request was dispatched and never answered
    ("aborted", 1),
]
