"""nginx-get-headers.bin: GET /app/path?x=1&y=%20z with Cookie, X-Custom, X_Under (dropped by nginx),
Accept-Language; PARAMS 556+4 padding.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

expect = [
    # request 1: 25 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "x=1&y=%20z",
            "REQUEST_METHOD": "GET",
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/app/path",
            "REQUEST_URI": "/app/path?x=1&y=%20z",
            "DOCUMENT_URI": "/app/path",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "52466",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "capture-test/1.0",
            "HTTP_ACCEPT": "*/*",
            "HTTP_COOKIE": "a=1; b=two",
            "HTTP_X_CUSTOM": "hello world",
            "HTTP_ACCEPT_LANGUAGE": "en",
        },
        False,
        "RESPONDER",
    ),
    ("end", 1),
]
