"""nginx-split-path-info.bin: fastcgi_split_path_info + PATH_INFO: SCRIPT_NAME=/split/app.py,
PATH_INFO=/extra/path.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

expect = [
    # request 1: 23 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "QUERY_STRING": "q=1",
            "REQUEST_METHOD": "GET",
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "/split/app.py",
            "REQUEST_URI": "/split/app.py/extra/path?q=1",
            "DOCUMENT_URI": "/split/app.py/extra/path",
            "DOCUMENT_ROOT": "/var/www/html",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_SCHEME": "http",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "nginx/1.22.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "48140",
            "REMOTE_USER": "",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "18632",
            "SERVER_NAME": "localhost",
            "REDIRECT_STATUS": "200",
            "HTTP_HOST": "127.0.0.1",
            "PATH_INFO": "/extra/path",
            "HTTP_USER_AGENT": "curl/7.88.1",
            "HTTP_ACCEPT": "*/*",
        },
        False,
        "RESPONDER",
    ),
    ("end", 1),
]
