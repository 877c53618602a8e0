"""Where the page templates and static files live.

They sit at the repository's top level beside ``zapp/`` (the design card's
layout); a built wheel puts them inside the package (``zapp/templates``,
``zapp/static``, see ``pyproject.toml``), so an installed zapp finds them
there and a checkout finds them beside the package.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from flask import request, url_for

_PACKAGE = Path(__file__).resolve().parent


def shipped_folder(name: str) -> str:
    """The folder ``name`` (``templates`` or ``static``): inside an installed package, else beside it."""
    installed = _PACKAGE / name
    if installed.is_dir():
        return str(installed)
    return str(_PACKAGE.parent / name)


TEMPLATES_DIR = shipped_folder("templates")
STATIC_DIR = shipped_folder("static")


def static_url_builder() -> Callable[[str], str]:
    """``url_for("static", filename=...)`` for one app's templates, built once per script root:
    every page links the same few files, and building a URL through the routing map (and finding
    the static folder) cost more than the tag."""

    @functools.lru_cache(maxsize=256)
    def cached(script_root: str, filename: str) -> str:
        return url_for("static", filename=filename)

    def static_url(filename: str) -> str:
        return cached(request.script_root, filename)

    return static_url
