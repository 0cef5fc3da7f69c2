"""Content_Length and Content_Type are not the framing fields (llhttp frames this
body by Content-Length: 5), so they must be dropped like every other name with an
"_": were they mapped to CONTENT_LENGTH/CONTENT_TYPE, the app would be told a
length (here 0) that differs from the body it gets."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/upload",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_TYPE="text/plain",
        CONTENT_LENGTH="5",
        body=b"hello",
    ),
]
