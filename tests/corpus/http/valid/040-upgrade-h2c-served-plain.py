"""Upgrade is not offered (RFC 9110 7.8: a server may ignore it): the request is
served as a plain one, and the next request is parsed as HTTP/1.1."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/page",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_UPGRADE="h2c",
        HTTP_HTTP2_SETTINGS="AAMAAABkAARAAAAAAAIAAAAA",
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/next",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
