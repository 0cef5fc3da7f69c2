"""The echo app wrapped in ``wsgiref.validate.validator``: any PEP 3333 slip by the
server (a missing environ key, HTTP_CONTENT_LENGTH left in, a non-bytes input
read, close() not called...) raises AssertionError inside the app, which the
server turns into a 500 and logs."""

from wsgiref.validate import validator

from tests.apps.echo import app as echo_app

app = validator(echo_app)
