"""A query string: everything after the first "?" goes to QUERY_STRING, raw."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/search/results?q=fastcgi&lang=en&page=2",
        QUERY_STRING="q=fastcgi&lang=en&page=2",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_USER_AGENT="corpus/1.0",
        HTTP_ACCEPT="*/*",
    ),
]
