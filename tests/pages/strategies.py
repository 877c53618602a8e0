"""Hypothesis strategies for raw URLs as Sales may sign them, and for tampering with them."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import assume
from hypothesis import strategies as st

_PLAIN = st.text(
    alphabet=st.characters(
        categories=("L", "N"), include_characters="-._~!$'()*,;:@/?+", exclude_characters="&#%="
    ),
    max_size=12,
)
_ENCODED = st.text(max_size=8).map(lambda text: quote(text, safe=""))
_SPECIAL = st.sampled_from(
    ["", "+", "%2F", "%2f", "a+b", "x%20y", "%26", "%3D", "José", "日本", "%E2%82%AC", "=="]
)
_VALUES = st.one_of(_PLAIN, _ENCODED, _SPECIAL)
_NAMES = st.one_of(
    st.sampled_from(["a", "name", "phones", "range", "x", "ñ", "q%5B%5D"]), _PLAIN.filter(bool)
)


@st.composite
def queries(draw, reserved: tuple[str, ...] = ()) -> str:
    """A raw query: Unicode, ``+``, ``%2F``, empty values, bare flags and repeated names, in any order."""
    pairs = []
    names = draw(st.lists(_NAMES, min_size=1, max_size=8))
    for name in names:
        if name.lower().startswith("signature") or name in reserved or "signature" in name.lower():
            continue
        if draw(st.booleans()) and draw(st.booleans()):
            pairs.append(name)  # a bare flag
        else:
            pairs.append(f"{name}={draw(_VALUES)}")
    if pairs and draw(st.booleans()):
        pairs.append(draw(st.sampled_from(pairs)))  # the same pair twice
    return "&".join(pairs)


@st.composite
def targets(draw) -> str:
    path = (
        "/"
        + draw(st.sampled_from(["dialogs", "reports"]))
        + "/"
        + draw(st.from_regex(r"[a-z][a-z\-]{0,14}", fullmatch=True))
    )
    query = draw(queries())
    return f"{path}?{query}" if query or draw(st.booleans()) else path


def one_character_changes(draw, target: str) -> str:
    position = draw(st.integers(0, len(target) - 1))
    operation = draw(st.sampled_from(["replace", "delete", "insert"]))
    character = draw(st.characters(codec="utf-8", exclude_categories=("Cs",)))
    if operation == "delete":
        return target[:position] + target[position + 1 :]
    if operation == "insert":
        return target[:position] + character + target[position:]
    assume(character != target[position])
    return target[:position] + character + target[position + 1 :]
