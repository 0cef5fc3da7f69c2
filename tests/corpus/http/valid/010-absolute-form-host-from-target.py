"""RFC 9112 3.2.2: "When an origin server receives a request with an absolute-form
of request-target, the origin server MUST ignore the received Host header field
(if any) and instead use the host information of the request-target." So the
app sees the target's authority as HTTP_HOST, not the Host line."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="https://target.example:8443/a",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="target.example:8443",
    ),
]
