"""An empty query after "?", a second "?" inside the query, odd separators."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/empty?",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/twice?a=1?b=2&c=/d",
        QUERY_STRING="a=1?b=2&c=/d",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/?=&&=",
        QUERY_STRING="=&&=",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
