"""HEAD is parsed like GET (no request body); the response side drops the body."""

expect = [
    dict(
        REQUEST_METHOD="HEAD",
        REQUEST_URI="/index.html",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
