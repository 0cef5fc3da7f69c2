"""PATCH with a UTF-8 JSON body: the body is bytes, untouched."""

expect = [
    dict(
        REQUEST_METHOD="PATCH",
        REQUEST_URI="/users/7",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_TYPE="application/merge-patch+json; charset=utf-8",
        CONTENT_LENGTH="27",
        body='{"name": "élève", "x": 1}'.encode(),
    ),
]
