"""RFC 9112 9.6: after a request with "Connection: close" a server "MUST NOT
process any further requests received on that connection": /ignored never
starts (it ends the event list as a refused request 2)."""

status = 400
before = 1

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/last",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_CONNECTION="close",
        keep_alive=False,
    ),
]
