"""An application factory: serve it as ``tests.apps.factory:create_app()``.

Each call builds a new hello-style app; ``calls`` counts them, so a test can tell
whether (and in which process) the factory ran.
"""

calls = 0


def create_app(greeting: str = "Hello from the factory!"):
    global calls
    calls += 1
    body = greeting.encode("utf-8")

    def app(environ, start_response):
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]

    return app
