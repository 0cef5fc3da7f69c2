"""DELETE with a query and an Authorization header (passed on as HTTP_AUTHORIZATION)."""

expect = [
    dict(
        REQUEST_METHOD="DELETE",
        REQUEST_URI="/items/42?force=1",
        QUERY_STRING="force=1",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="api.example.com",
        HTTP_AUTHORIZATION="Bearer abc.def.ghi",
    ),
]
