"""The JSON examples the Sales API reference prints, kept verbatim in ``seed_examples.json``.

The reference is a rendered page: its JSON examples carry list markers
(``- "id": ...``) and some start mid-line (``}{- "id"``). ``extract`` undoes
only that rendering and decodes every example in order; a test re-extracts
them from the reference when it is at hand (``../shared/seed``) and compares.
"""

from __future__ import annotations

import bisect
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
EXAMPLES = HERE / "seed_examples.json"
SEED = HERE.parent.parent / "shared" / "seed" / "000_5b21c268dd79a761.txt"


def extract(text: str) -> list[tuple[int, int, Any]]:
    """(first line, last line, value) of every JSON object or array in the reference, in order."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^- ", "", line)
        line = re.sub(r"([\[{,]) - ", r"\1 ", line)
        lines.append(re.sub(r"(?<=[\[{])- ", "", line))
    offsets, position = [], 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    joined, decoder, found, index = "\n".join(lines), json.JSONDecoder(), [], 0
    while index < len(joined):
        if joined[index] in "{[":
            try:
                value, end = decoder.raw_decode(joined, index)
            except ValueError:
                value, end = None, index
            if isinstance(value, dict | list) and value and len(json.dumps(value)) > 10:
                first = bisect.bisect_right(offsets, index)
                found.append((first, bisect.bisect_right(offsets, end - 1), value))
                index = end
                continue
        index += 1
    return found


@cache
def examples() -> dict[str, dict[str, Any]]:
    """Every example by name: ``{"lines": "L129-L263", "model": ..., "example": ...}``."""
    return {item["name"]: item for item in json.loads(EXAMPLES.read_text("utf-8"))["examples"]}


def example(name: str) -> Any:
    """A fresh copy of one example's JSON value."""
    return json.loads(json.dumps(examples()[name]["example"]))
