"""The manifest: only pages the app serves, names in three languages, absolute URLs, real 64x64 PNG icons."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from urllib.parse import urlsplit

import pytest

from tests.pages.conftest import PUBLIC_URL, object_id, sign
from zapp import create_app
from zapp.pages.icons import DRAWINGS, ICONS_DIR, SIZE, encode_png
from zapp.pages.manifest import build_manifest
from zapp.pages.registry import BUTTON, ExtensionPoint, register, registered

PLACEHOLDER = re.compile(r"\$\{([a-zA-Z_.]+)\}")
# What the seed lets each kind of URL hold.
USER_GROUP = {"user._id", "user.firstName", "user.lastName", "user.cellPhone", "user.phone", "user.email",
              "group._id", "group.name", "group.language", "group.displayName"}  # fmt: skip
PROSPECT = {"prospect._id", "prospect.firstName", "prospect.lastName", "prospect.phones", "prospect.emails",
            "prospect.source", "prospect.providerLeadId"}  # fmt: skip


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGBA pixels of a PNG as ``encode_png`` writes it, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color) == (8, 6) and b"IEND" in chunks
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * 4 + 1
    assert all(raw[row * stride] == 0 for row in range(height))
    return width, height, b"".join(raw[row * stride + 1 : (row + 1) * stride] for row in range(height))


def test_the_manifest_declares_the_dialogs_the_reports_and_custom_fields(client):
    manifest = client.get("/manifest.json").json
    assert set(manifest) == {"reports", "buttons", "fields"}
    assert sorted(button["key"] for button in manifest["buttons"]) == ["handoff", "messages", "timeline"]
    assert [report["key"] for report in manifest["reports"]] == [
        "agent-activity",
        "lead-sources",
        "speed-to-lead",
    ]
    assert all("${group.language}" in report["url"] for report in manifest["reports"])
    # Only fields the App fills: the prospect's, through Sales' additional data; no call writes a user's.
    assert {field["key"] for field in manifest["fields"]["prospect"]} == {
        "zappFirstResponseMinutes",
        "zappAnsweredOnTime",
        "zappFirstResponder",
    }
    assert manifest["fields"]["user"] == []


def test_names_are_localizable_objects_from_the_catalogs(client):
    manifest = client.get("/manifest.json").json
    named = [
        *manifest["buttons"],
        *manifest["reports"],
        *manifest["fields"]["prospect"],
        *manifest["fields"]["user"],
    ]
    for item in named:
        assert set(item["name"]) == {"en", "es", "pt"}
        assert item["name"]["es"] != item["name"]["en"] or item["name"]["en"] in ("SMS",)
    timeline = next(button for button in manifest["buttons"] if button["key"] == "timeline")
    assert timeline["name"] == {"en": "Timeline", "es": "Cronología", "pt": "Linha do tempo"}


def test_urls_are_absolute_under_the_public_url_with_the_seeds_placeholders(client):
    manifest = client.get("/manifest.json").json
    for kind, allowed in (("buttons", USER_GROUP | PROSPECT), ("reports", USER_GROUP)):
        for item in manifest[kind]:
            assert item["url"].startswith(PUBLIC_URL + "/")
            assert set(PLACEHOLDER.findall(item["url"])) <= allowed
    timeline = next(button["url"] for button in manifest["buttons"] if button["key"] == "timeline")
    assert timeline == (
        f"{PUBLIC_URL}/dialogs/timeline?prospect=${{prospect._id}}&user=${{user._id}}"
        "&group=${group._id}&lang=${group.language}"
    )


def test_button_icons_are_64x64_png_data_uris(client):
    for button in client.get("/manifest.json").json["buttons"]:
        prefix, _, encoded = button["icon"].partition(",")
        assert prefix == "data:image/png;base64"
        width, height, pixels = decode_png(base64.b64decode(encoded))
        assert (width, height) == (SIZE, SIZE)
        alphas = set(pixels[3::4])
        assert 0 in alphas and 255 in alphas  # a shape on a transparent ground, not a blank square


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_committed_icons_are_what_the_code_draws(name):
    with open(f"{ICONS_DIR}/{name}", "rb") as handle:
        assert decode_png(handle.read())[2] == DRAWINGS[name]()


def test_the_png_encoder_round_trips():
    pixels = bytes(range(256)) * 4  # 16x16 RGBA
    assert decode_png(encode_png(16, 16, pixels)) == (16, 16, pixels)
    with pytest.raises(ValueError):
        encode_png(2, 2, b"\x00" * 15)


def _fill(url: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], url)


def test_every_url_in_the_manifest_is_served_by_the_app(client, installed):
    """Filled in and signed as Sales would, each declared page opens (reports also get Sales' parameters)."""
    manifest = client.get("/manifest.json").json
    values = {name: "x" for name in USER_GROUP | PROSPECT}
    values.update({"prospect._id": object_id(), "user._id": object_id(), "group._id": installed.group,
                   "group.language": "pt"})  # fmt: skip
    opened = 0
    for item in manifest["buttons"]:
        target = _fill(item["url"], values)[len(PUBLIC_URL) :]
        assert client.get(sign(target)).status_code == 200, item["key"]
        opened += 1
    for item in manifest["reports"]:
        target = _fill(item["url"], values)[len(PUBLIC_URL) :]
        target += f"&range=last7&start=&end=&group={installed.group}&parentGroup={installed.group}"
        assert client.get(sign(target)).status_code == 200, item["key"]
        opened += 1
    assert opened == len(registered(BUTTON)) + len(manifest["reports"])


def test_every_registered_point_is_a_route_of_the_app(app):
    adapter = app.url_map.bind("zapp.test")
    for kind in ("button", "report"):
        for point in registered(kind):
            endpoint, _ = adapter.match(urlsplit(point.path).path, method="GET")
            assert endpoint.startswith("pages.")


def test_a_point_cannot_be_registered_twice_under_one_key():
    point = registered(BUTTON)[0]
    register(point)  # the same definition again (a re-import) is fine
    with pytest.raises(ValueError, match="twice"):
        register(ExtensionPoint(BUTTON, point.key, point.name, "/dialogs/elsewhere", point.query, point.icon))


def test_without_a_public_url_the_manifest_says_what_is_missing(app_env):
    bare = create_app({**app_env, "ZAPP_PUBLIC_URL": ""})
    try:
        response = bare.test_client().get("/manifest.json")
        assert response.status_code == 503 and "ZAPP_PUBLIC_URL" in response.json["error"]["message"]
    finally:
        bare.extensions["zapp"].database.dispose()


def test_zapp_manifest_prints_the_same_manifest(app):
    result = app.test_cli_runner().invoke(args=["manifest"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == build_manifest(PUBLIC_URL)


def test_the_manifest_is_described_in_the_api_description(client):
    spec = client.get("/openapi.json").json
    assert {"/manifest.json", "/dialogs/timeline", "/dialogs/timeline/data"} <= set(spec["paths"])
    schema = spec["paths"]["/manifest.json"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert schema  # the Manifest schema, validated against real answers by tests/test_openapi.py
