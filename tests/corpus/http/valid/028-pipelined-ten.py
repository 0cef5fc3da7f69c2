"""Ten requests in one buffer: GETs, Content-Length POSTs and chunked POSTs."""


def get(n):
    return dict(
        REQUEST_METHOD="GET",
        REQUEST_URI=f"/r/{n}?n={n}",
        QUERY_STRING=f"n={n}",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    )


def post(n, body):
    return dict(
        REQUEST_METHOD="POST",
        REQUEST_URI=f"/r/{n}",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_LENGTH=str(len(body)),
        body=body,
    )


def chunked(n, body):
    return dict(
        REQUEST_METHOD="POST",
        REQUEST_URI=f"/r/{n}",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        body=body,
    )


expect = [
    get(1),
    chunked(2, b"xx"),
    post(3, b"body-3"),
    get(4),
    chunked(5, b"xxxxx"),
    post(6, b"body-6"),
    get(7),
    chunked(8, b"xxxxxxxx"),
    post(9, b"body-9"),
    get(10),
]
