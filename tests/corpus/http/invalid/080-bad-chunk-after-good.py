"""A good request, then one whose second chunk size is bad: request 2 was started
and got "ok", then it is refused; the request hidden after it never starts."""

status = 400
before = 1
started = True

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/one",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
