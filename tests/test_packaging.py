"""An installed wheel carries what the app needs beside its code: templates, static files, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv

from tests.conftest import APP_ID, APP_SECRET, ROOT, SIGNING_KEY

RENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import zapp
    from cryptography.fernet import Fernet
    from zapp import create_app
    from zapp.db import build_engine, upgrade_schema

    assert "site-packages" in zapp.__file__, zapp.__file__
    database = Path(sys.argv[1]) / "zapp.db"
    engine = build_engine(f"sqlite:///{database}")
    upgrade_schema(engine)
    engine.dispose()
    app = create_app({
        "ZAPP_MODE": "test",
        "ZAPP_DATABASE_URL": f"sqlite:///{database}",
        "ZAPP_APP_ID": sys.argv[2],
        "ZAPP_APP_SECRET": sys.argv[3],
        "ZAPP_SIGNING_KEY": sys.argv[4],
        "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ZAPP_PUBLIC_URL": "http://zapp.test",
        "ZAPP_JOBS_PATH": str(Path(sys.argv[1]) / "jobs.db"),
    })
    client = app.test_client()
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "<h1>404</h1>" in page.get_data(as_text=True), page.data
    css = client.get("/static/zapp.css")
    assert css.status_code == 200 and b"--accent" in css.data
    css.close()
    manifest = client.get("/manifest.json").get_json()
    assert len(manifest["buttons"]) == 3 and len(manifest["reports"]) == 3, manifest
    assert all(b["icon"].startswith("data:image/png;base64,") for b in manifest["buttons"]), manifest
    print("rendered from", Path(zapp.__file__).parent)
    """
)


def test_an_installed_wheel_renders_pages_with_its_own_templates_and_static_files(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("zapp-*.whl")
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies come from this environment's site-packages, read as a plain path: its .pth files
    # (the editable checkout among them) are not processed, so `zapp` can only come from the wheel.
    with open(f"{site}/dependencies.pth", "w") as pth:
        pth.write(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, wheel],
        check=True,
        capture_output=True,
    )
    rendered = subprocess.run(
        [python, "-c", RENDER, tmp_path, APP_ID, APP_SECRET, SIGNING_KEY],
        cwd=tmp_path,
        env={name: value for name, value in os.environ.items() if name != "PYTHONPATH"},
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert str(fresh) in rendered.stdout
