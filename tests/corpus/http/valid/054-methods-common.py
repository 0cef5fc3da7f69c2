"""The RFC 9110 methods (and PATCH), pipelined on one connection."""


def req(method, **more):
    return dict(
        REQUEST_METHOD=method,
        REQUEST_URI="/m",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="h",
        **more,
    )


expect = [
    req("GET"),
    req("HEAD"),
    req("POST", CONTENT_LENGTH="0"),
    req("PUT", CONTENT_LENGTH="0"),
    req("DELETE"),
    req("OPTIONS"),
    req("TRACE"),
    req("PATCH", CONTENT_LENGTH="0"),
]
