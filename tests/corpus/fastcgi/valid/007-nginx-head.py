"""nginx-head.bin: HEAD /app/head?h=1, PARAMS 465+7 padding.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

expect = [
    # request 1: 22 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "h=1",
            "REQUEST_METHOD": "HEAD",
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/app/head",
            "REQUEST_URI": "/app/head?h=1",
            "DOCUMENT_URI": "/app/head",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "48142",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "curl/7.88.1",
            "HTTP_ACCEPT": "*/*",
        },
        False,
        "RESPONDER",
    ),
    ("end", 1),
]
