"""Where the page templates and static files live.

They sit at the repository's top level beside ``zapp/`` (the design card's
layout); a built wheel puts them inside the package (``zapp/templates``,
``zapp/static``, see ``pyproject.toml``), so an installed zapp finds them
there and a checkout finds them beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_folder(name: str) -> str:
    """The folder ``name`` (``templates`` or ``static``): inside an installed package, else beside it."""
    installed = _PACKAGE / name
    if installed.is_dir():
        return str(installed)
    return str(_PACKAGE.parent / name)


TEMPLATES_DIR = shipped_folder("templates")
STATIC_DIR = shipped_folder("static")
