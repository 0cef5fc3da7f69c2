"""The "identity" coding was removed from HTTP (RFC 7230); as a request's only coding it
leaves the length undetermined: 400, refused from the head."""

status = 400
