"""The baseline of the HTTP benchmarks: the smallest Flask app, under the same gunicorn settings.

It answers any path, so the load generator can send it the very requests it sends zapp.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/", defaults={"path": ""})
@app.get("/<path:path>")
def hello(path: str) -> str:
    return "Hello, World!"


@app.post("/", defaults={"path": ""})
@app.post("/<path:path>")
def acknowledge(path: str) -> tuple[dict, int]:
    return {"success": True}, 200
