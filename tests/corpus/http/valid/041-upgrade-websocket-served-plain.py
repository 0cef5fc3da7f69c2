"""Even with "Connection: Upgrade" (which makes llhttp stop and report an
upgrade), the request is served as a plain one and the bytes after it, in the
same buffer or not, are the next HTTP/1.1 request: never dropped."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/chat",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_UPGRADE="websocket",
        HTTP_CONNECTION="Upgrade",
        HTTP_SEC_WEBSOCKET_KEY="dGhlIHNhbXBsZSBub25jZQ==",
        HTTP_SEC_WEBSOCKET_VERSION="13",
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/after",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
