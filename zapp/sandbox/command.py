"""``zapp sandbox``: serve a simulated Sales for demos and manual testing."""

from __future__ import annotations

import click

SANDBOX_EXTRA = "The sandbox needs its extra dependencies: pip install 'zapp[sandbox]'."


def require_sandbox_extra() -> None:
    """The sandbox's made-up data comes from Faker, which a production install does not pull."""
    try:
        import faker  # noqa: F401
    except ImportError:
        raise click.ClickException(SANDBOX_EXTRA) from None


@click.command("sandbox")
@click.option("--port", default=8001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--app-url", default=None, help="Base URL of the App this Sales hosts (e.g. http://127.0.0.1:8000)."
)
@click.option("--prospects", default=300, show_default=True, help="Contacts in the first account.")
@click.option("--seed", default=1, show_default=True, help="Seed of the generated data.")
@click.option("--days", default=120, show_default=True, help="Days of history to generate.")
@click.option("--rate-limit", default=600, show_default=True, help="API requests per key per minute.")
@click.option("--reset-style", type=click.Choice(["epoch", "delta"]), default="epoch", show_default=True)
def sandbox_command(port, host, app_url, prospects, seed, days, rate_limit, reset_style) -> None:
    """Serve the Sales sandbox: its API under /api/v1, its host UI at /, its controls under /_sandbox/."""
    require_sandbox_extra()
    from werkzeug.serving import make_server

    from .app import SandboxOptions, create_sandbox_app
    from .server import QuietHandler

    with click.progressbar(length=prospects, label="generating contacts") as bar:
        options = SandboxOptions(app_url=app_url, prospects=prospects, seed=seed, days=days,
                                 rate_limit=rate_limit, reset_style=reset_style,
                                 progress=bar.update)  # fmt: skip
        app = create_sandbox_app(options)
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    click.echo(
        f"Sales sandbox: host UI http://{host}:{port}/ · API http://{host}:{port}/api/v1 · Ctrl-C stops"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["sandbox_control"].stop()
