"""The smallest HTTP/1.1 request: a GET with its one required header."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        body=b"",
        keep_alive=True,
    ),
]
