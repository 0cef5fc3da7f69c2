"""Three HTTP/1.0 requests: the first two ask for keep-alive (any case), the last
does not, so only it is answered with the connection closing."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/one",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.0",
        HTTP_CONNECTION="Keep-Alive",
        keep_alive=True,
    ),
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/two",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.0",
        HTTP_CONNECTION="keep-alive",
        CONTENT_LENGTH="3",
        body=b"abc",
        keep_alive=True,
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/three",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.0",
        keep_alive=False,
    ),
]
