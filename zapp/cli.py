"""The ``zapp`` command line (also reachable as ``flask --app zapp ...``).

``zapp demo`` and ``zapp sandbox`` hang off the top-level group so that they
run without production secrets; everything else needs the configured app.
"""

from __future__ import annotations

import click
from alembic import command as alembic_command
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from .db import alembic_config, downgrade_schema, upgrade_schema
from .extensions import services
from .installations.lookup import undeleted_ids
from .jobs import run_worker
from .provisioning import ProvisioningFailed
from .sales.errors import SalesError
from .store.history import ImportRefused, ImportStep
from .store.rollups import REBUILD_STEPS, rebuild
from .vault import VaultError, generate_key
from .webhooks.feed import EventFeed


def upgrade_database(app: Flask, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` and make sure the vault's index key exists."""
    zapp = services(app)
    upgrade_schema(zapp.database.engine, revision)
    if revision in ("head", "heads"):
        zapp.vault.index_key()


@click.group("db", help="Database schema migrations.")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    upgrade_database(current_app, revision)
    click.echo(f"database is at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    downgrade_schema(services(current_app).database.engine, revision)
    click.echo(f"database is at {revision}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the revision the database is at."""
    alembic_command.current(alembic_config(services(current_app).config.database_url), verbose=False)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    config = alembic_config(services(current_app).config.database_url)
    alembic_command.revision(config, message=message, autogenerate=True)


@click.group("keys", help="Encryption keys for secrets at rest.")
def keys_group() -> None:
    pass


@keys_group.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key; put it first in ZAPP_ENCRYPTION_KEYS to start using it."""
    click.echo(generate_key())


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the first key of ZAPP_ENCRYPTION_KEYS."""
    zapp = services(current_app)
    total = zapp.vault.count_encrypted()
    with click.progressbar(length=total, label="re-encrypting", show_pos=True) as bar:
        try:
            touched = zapp.vault.rotate_all(progress=bar.update)
        except VaultError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"re-encrypted {touched} rows under the first key; older keys may now be removed")


@click.command("worker")
@click.option("--threads", default=2, show_default=True, help="Jobs run at once in this process.")
@click.option(
    "--no-periodic", is_flag=True, help="Leave periodic jobs (reconcile, sweeps) to another worker."
)
@with_appcontext
def worker_command(threads: int, no_periodic: bool) -> None:
    """Run background jobs (provisioning, webhook processing, imports) until Ctrl-C."""
    zapp = services(current_app)
    storage = "Redis" if zapp.config.redis_url else "a SQLite queue file"
    click.echo(f"worker: {threads} threads, jobs in {storage}; Ctrl-C stops after the running jobs")
    feed = EventFeed(zapp.events, zapp.database, zapp.jobs.process_event)  # a refused enqueue raises
    run_worker(zapp.jobs.queue, threads, periodic=not no_periodic, feed=feed)


@click.command("backfill")
@click.option("--instance", "public_id", required=True, help="The installation's public id.")
@click.option(
    "--days",
    type=click.IntRange(0, 365),
    default=None,
    help="Days of history to import [default: the installation's history setting].",
)
@with_appcontext
def backfill_command(public_id: str, days: int | None) -> None:
    """Import the last DAYS days of prospects and interactions; an interrupted import resumes."""
    zapp = services(current_app)
    totals: dict[str, int] = {}
    try:
        steps = zapp.history.steps(public_id, days=days, again=True)
        with click.progressbar(
            steps, label=f"importing {public_id}", show_pos=True, item_show_func=_describe_step
        ) as bar:
            for step in bar:
                totals[step.kind] = step.imported
    except ImportRefused as refusal:
        raise click.ClickException(str(refusal)) from None
    except SalesError as error:
        raise click.ClickException(
            f"The import stopped: {error}. Run the same command again to resume where it stopped."
        ) from None
    summary = ", ".join(f"{count} {kind}" for kind, count in totals.items()) or "nothing new"
    click.echo(f"imported {summary} for {public_id}")


@click.group("reports", help="The reports' rollups.")
def reports_group() -> None:
    pass


@reports_group.command("rebuild")
@click.option("--instance", "public_id", default=None, help="One installation's public id [default: all].")
@with_appcontext
def reports_rebuild(public_id: str | None) -> None:
    """Recompute the report rollups from the stored prospects and interactions.

    Each installation is rebuilt in one transaction, so its reports never show half a rebuild.
    """
    zapp = services(current_app)
    instances = undeleted_ids(zapp.database, public_id)
    if public_id is not None and not instances:
        raise click.ClickException(f"no installation {public_id} (or it was deleted)")
    steps = len(instances) * (REBUILD_STEPS + 1)
    with click.progressbar(length=steps, label="rebuilding report rollups", show_pos=True) as bar:
        for instance_id, public in instances:
            with zapp.database.transaction() as session:
                for step in rebuild(session, instance_id):
                    bar.label = f"{public}: {step}"
                    bar.update(1)
    click.echo(f"rebuilt the report rollups of {len(instances)} installation(s)")


@click.group("webhooks", help="The callback URLs Sales delivers events to.")
def webhooks_group() -> None:
    pass


@webhooks_group.command("rotate")
@click.option("--instance", "public_id", required=True, help="The installation's public id.")
@with_appcontext
def webhooks_rotate(public_id: str) -> None:
    """Give the installation a new callback token and subscribe with it; the old token keeps working
    until Sales confirms the new subscription, then for a grace period."""
    zapp = services(current_app)
    if not zapp.provisioner.rotate_webhook_token(public_id):
        raise click.ClickException(
            f"{public_id}: no live installation with a webhook token (its first provisioning makes one)"
        )
    try:
        subscribed = zapp.provisioner.provision(public_id)
    except ProvisioningFailed as error:
        subscribed = False
        click.echo(f"Sales did not answer ({error}); the old token keeps working until it does")
    if subscribed:
        click.echo(f"{public_id}: subscribed with the new token; the old one stops after the grace period")
    else:
        click.echo(f"{public_id}: token rotated; the worker's reconcile subscribes with it")


def _describe_step(step: ImportStep | None) -> str | None:
    return None if step is None else f"{step.kind}: {step.imported} imported"


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(worker_command)
    app.cli.add_command(backfill_command)
    app.cli.add_command(webhooks_group)
    app.cli.add_command(reports_group)
    from .demo import demo_command
    from .pages.manifest import manifest_command
    from .sandbox.command import sandbox_command

    app.cli.add_command(demo_command)
    app.cli.add_command(sandbox_command)
    app.cli.add_command(manifest_command)


cli = FlaskGroup(
    name="zapp",
    help="zapp: a Zenvia Sales App backend.",
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
# Flask finds the factory by name, as `flask --app` does: the package imports this module, not back.
APP_IMPORT_PATH = "zapp:create_app()"


def _add_standalone_commands() -> None:
    from .demo import demo_command
    from .sandbox.command import sandbox_command

    cli.add_command(demo_command)
    cli.add_command(sandbox_command)


_add_standalone_commands()


def main() -> None:
    cli.main(prog_name="zapp", obj=ScriptInfo(app_import_path=APP_IMPORT_PATH, set_debug_flag=False))


if __name__ == "__main__":
    main()
