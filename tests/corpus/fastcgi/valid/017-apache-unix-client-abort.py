"""apache-unix-client-abort.bin: GET whose HTTP client closed after 0.5 s while the backend took 2 s.
Apache did NOT notice: it waited for the answer, read it and closed normally. So the request is
answered before the EOF, and the EOF aborts nothing (contrast the nginx abort cases).

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

from tests.corpus.fastcgi.helpers import eof, respond

# Between pieces of input: the backend answers (the web server waits for it),
# then the web server closes the connection.
actions_at = {
    663: [respond(1), eof()],
}

expect = [
    # request 1: 22 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "HTTP_HOST": "127.0.0.1:18633",
            "HTTP_USER_AGENT": "abort-client/1.0",
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
            "SCRIPT_FILENAME": "proxy:fcgi://localhost/slow",
            "REMOTE_PORT": "46086",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "case=apache-abort",
            "REQUEST_URI": "/app/slow?case=apache-abort",
            "SCRIPT_NAME": "/app/slow",
        },
        False,
        "RESPONDER",
    ),
    ("end", 1),
]
