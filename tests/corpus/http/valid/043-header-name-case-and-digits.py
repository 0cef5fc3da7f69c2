"""Names are case-insensitive tokens: upper-cased, "-" becomes "_", and every
tchar (RFC 9110 5.6.2) is allowed."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_X_CUSTOM_HEADER="1",
        HTTP_X_B3_TRACEID="80f198ee56343ba8",
        **{"HTTP_X_ODD!#$%&'*+.^`|~": "tchar"},
    ),
]
