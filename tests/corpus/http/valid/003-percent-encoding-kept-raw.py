"""Percent-encoding stays as sent in REQUEST_URI and QUERY_STRING: decoding is
the WSGI bridge's business (and %2F must not become a path separator here)."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/caf%C3%A9/a%2Fb/%25?name=J%C3%BCrgen&x=%20y+z",
        QUERY_STRING="name=J%C3%BCrgen&x=%20y+z",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
