"""A name with "_" would collide with its "-" twin in HTTP_* (X_Forwarded_For and
X-Forwarded-For are both HTTP_X_FORWARDED_FOR): such fields are dropped, as nginx
and Apache drop them, so a front end that vetted the "-" one cannot be bypassed."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    ),
]
