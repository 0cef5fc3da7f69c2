"""A small Flask app for the mounts e2e test: ``/`` says hello with the URL of
``/hello/<name>`` built by ``url_for(..., _external=True)``, which must carry the
mount prefix (SCRIPT_NAME) when the app lives under one."""

from __future__ import annotations

from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


@app.get("/")
def index() -> object:
    return jsonify(
        app="flask",
        url=url_for("hello", name="x", _external=True),
        script_root=request.script_root,
        path=request.path,
    )


@app.get("/hello/<name>")
def hello(name: str) -> object:
    return jsonify(app="flask", hello=name, path=request.path)
