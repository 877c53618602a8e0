"""The baseline of the HTTP benchmarks: the smallest Flask app, under the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"


@app.post("/")
def acknowledge() -> tuple[dict, int]:
    return {"success": True}, 200
