"""HTTP/1.0 without keep-alive: no Host needed, and the connection is not kept."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/old",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.0",
        HTTP_USER_AGENT="Lynx/2.8",
        keep_alive=False,
    ),
]
