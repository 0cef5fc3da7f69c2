"""apache-unix-get-headers.bin: Apache mod_proxy_fcgi GET over a unix socket: no padding anywhere, PATH
forwarded, HTTP_HOST keeps the port.

Copied byte for byte from shared/fastcgi-captures (see its INDEX.md);
expected PARAMS checked against the INDEX tables."""

expect = [
    # request 1: 26 PARAMS pairs, 0 body bytes
    (
        "started",
        1,
        {
            "HTTP_HOST": "127.0.0.1:18633",
            "HTTP_USER_AGENT": "capture-test/1.0",
            "HTTP_ACCEPT": "*/*",
            "HTTP_COOKIE": "a=1; b=two",
            "HTTP_X_CUSTOM": "hello world",
            "HTTP_ACCEPT_LANGUAGE": "en",
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
            "SCRIPT_FILENAME": "proxy:fcgi://localhost/path",
            "REMOTE_PORT": "46038",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "x=1&y=%20z",
            "REQUEST_URI": "/app/path?x=1&y=%20z",
            "SCRIPT_NAME": "/app/path",
        },
        False,
        "RESPONDER",
    ),
    ("end", 1),
]
