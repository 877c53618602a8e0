"""The signature check: the conformance vectors, Node's own HMAC, and generated URLs by the hundred."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import SIGNING_KEY
from tests.pages.conftest import PUBLIC_URL, sign, signature_for
from tests.pages.strategies import one_character_changes, queries, targets
from zapp.pages.signed_urls import (
    SignatureRejected,
    raw_request_target,
    split_signature,
    verify_environ,
    verify_signed_target,
)

KEYS = (SIGNING_KEY,)


def verifies(target: str, keys=KEYS, base: str = PUBLIC_URL) -> bool:
    try:
        verify_signed_target(base, target.encode("utf-8"), keys)
    except SignatureRejected:
        return False
    return True


EXAMPLES = 500  # each signature property holds over at least this many generated targets
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None)


@PROPERTY
@given(target=targets())
def test_a_url_signed_as_the_seed_says_always_verifies(target):
    assert verifies(sign(target))


@PROPERTY
@given(target=targets(), data=st.data())
def test_any_one_character_change_is_refused(target, data):
    signed = sign(target)
    changed = one_character_changes(data.draw, signed)
    assume(changed != signed)
    assert not verifies(changed)


@PROPERTY
@given(target=targets(), data=st.data())
def test_reordered_parameters_are_refused(target, data):
    signed = sign(target)
    head, _, signature = signed.rpartition("signature=")
    path, _, query = head.rstrip("&?").partition("?")
    pairs = query.split("&")
    first, second = data.draw(st.integers(0, len(pairs) - 1)), data.draw(st.integers(0, len(pairs) - 1))
    pairs[first], pairs[second] = pairs[second], pairs[first]
    reordered = f"{path}?{'&'.join(pairs)}&signature={signature}"
    assume(reordered != signed)
    assert not verifies(reordered)


@PROPERTY
@given(target=targets(), extra=queries().filter(bool), before=st.booleans())
def test_an_added_parameter_is_refused(target, extra, before):
    signed = sign(target)
    head, _, signature = (
        signed.rpartition("&signature=") if "&signature=" in signed else signed.rpartition("?signature=")
    )
    separator = "&" if "?" in head else "?"
    tampered = f"{head}{separator}{extra}&signature={signature}" if before else f"{signed}&{extra}"
    assert not verifies(tampered)


@PROPERTY
@given(target=targets())
def test_a_signature_from_another_key_or_another_host_is_refused(target):
    assert not verifies(sign(target, key="another-key-0123456789"))
    assert not verifies(sign(target, base="https://evil.example"))


# -- the conformance vectors --------------------------------------------------------------------


def test_every_vector_is_judged_as_the_vectors_say(vectors):
    base = vectors["publicUrl"]
    for vector in vectors["vectors"]:
        target = vector["signed"][len(base) :]
        assert (
            verifies(target, keys=(vector["key"] if "key" in vector else vectors["key"],), base=base)
            is vector["valid"]
        ), vector.get("why") or vector["signed"]


def test_the_vectors_cover_both_outcomes(vectors):
    outcomes = [vector["valid"] for vector in vectors["vectors"]]
    assert outcomes.count(True) >= 5 and outcomes.count(False) >= 5


# -- Node's crypto, when node is installed ---------------------------------------------------------

_NODE_SIGNER = """
const crypto = require('crypto');
const {key, urls} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(urls.map(u => crypto.createHmac('sha256', key).update(u).digest('hex'))));
"""
_PIECES = [
    "José",
    "María",
    "%2F",
    "+",
    "",
    "a%20b",
    "%2B5491145520371%2C%2B5491145520372",
    "日本語",
    "x=y",
    "ü+ö",
    "%E2%82%AC",
]


def _node_urls(count: int = 60) -> list[str]:
    rng = random.Random(7)
    urls = []
    for index in range(count):
        pairs = [
            f"p{n}={''.join(rng.choices(_PIECES, k=rng.randint(0, 3)))}" for n in range(rng.randint(1, 6))
        ]
        if index % 5 == 0:
            pairs.append("flag")
        urls.append(f"{PUBLIC_URL}/dialogs/d{index}?{'&'.join(pairs)}")
    return urls


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_signatures_made_by_node_verify_and_match_ours():
    urls = _node_urls()
    result = subprocess.run(
        ["node", "-e", _NODE_SIGNER],
        input=json.dumps({"key": SIGNING_KEY, "urls": urls}),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    signatures = json.loads(result.stdout)
    for url, signature in zip(urls, signatures, strict=True):
        assert signature == signature_for(url)
        assert verifies(f"{url[len(PUBLIC_URL) :]}&signature={signature}")
        assert not verifies(f"{url[len(PUBLIC_URL) :]}x&signature={signature}")


# -- cutting the signature out, and reading the raw target -------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/d?a=1&signature=s", "/d?a=1"),
        ("/d?signature=s", "/d"),
        ("/d?signature=s&a=1", "/d?a=1"),
        ("/d?&signature=s", "/d?"),
        ("/d?a=1&&signature=s", "/d?a=1&"),
        ("/d?note=x%3Dsignature%3Dabc&signature=s", "/d?note=x%3Dsignature%3Dabc"),
        ("/d?signatures=1&signature=s", "/d?signatures=1"),
    ],
)
def test_the_signature_pair_is_cut_out_as_text(target, expected):
    unsigned, signature = split_signature(target.encode())
    assert (unsigned.decode(), signature) == (expected, b"s")


@pytest.mark.parametrize(
    "target",
    [
        "/d",
        "/d?a=1",
        "/d?signature=a&signature=b",
        "/d?signature=a&%73ignature=b",
        "/d?Signature=abc",
    ],
)
def test_no_signature_or_more_than_one_is_refused(target):
    with pytest.raises(SignatureRejected):
        split_signature(target.encode())


@pytest.mark.parametrize(
    "signature",
    ["", "abc", "0" * 63, "0" * 65, "g" * 64, "A" * 64, " " + "0" * 63, "%30" * 64],
)
def test_a_signature_that_is_not_64_lowercase_hex_digits_is_refused(signature):
    with pytest.raises(SignatureRejected, match="hexadecimal"):
        verify_signed_target(PUBLIC_URL, f"/d?a=1&signature={signature}".encode(), KEYS)


def test_an_uppercase_copy_of_a_good_signature_is_refused():
    target = sign("/dialogs/timeline?a=1")
    head, _, signature = target.rpartition("=")
    assert verifies(target) and not verifies(f"{head}={signature.upper()}")


def test_every_configured_key_is_tried_for_rotation():
    target = sign("/dialogs/timeline?a=1", key="previous-key-123456")
    assert verifies(target, keys=("current-key-1234567", "previous-key-123456"))
    assert not verifies(target, keys=("current-key-1234567",))


def test_without_a_public_url_nothing_verifies():
    with pytest.raises(SignatureRejected, match="ZAPP_PUBLIC_URL"):
        verify_signed_target("", sign("/dialogs/timeline?a=1").encode(), KEYS)


def test_the_raw_target_is_read_as_bytes_from_raw_uri_or_request_uri():
    raw = "/d?first=José&x=a%2Fb+c".encode().decode("latin-1")  # how WSGI carries bytes
    assert raw_request_target({"RAW_URI": raw, "PATH_INFO": "/ignored"}) == "/d?first=José&x=a%2Fb+c".encode()
    assert raw_request_target({"REQUEST_URI": "/d?a=%2F"}) == b"/d?a=%2F"


def test_an_absolute_form_target_loses_its_host():
    assert raw_request_target({"RAW_URI": "http://evil.example/d?x=1"}) == b"/d?x=1"
    assert raw_request_target({"RAW_URI": "https://evil.example?x=1"}) == b"/?x=1"


def test_a_query_left_out_of_raw_uri_comes_from_query_string_untouched():
    assert raw_request_target({"RAW_URI": "/d", "QUERY_STRING": "a=%2F+b"}) == b"/d?a=%2F+b"


def test_without_raw_uri_the_path_is_requoted_and_the_query_kept():
    environ = {"PATH_INFO": "/dialogs/tiempo línea".encode().decode("latin-1"), "QUERY_STRING": "a=%2F"}
    assert raw_request_target(environ) == b"/dialogs/tiempo%20l%C3%ADnea?a=%2F"


def test_host_headers_play_no_part():
    target = sign("/dialogs/timeline?a=1")
    environ = {"RAW_URI": target, "HTTP_HOST": "evil.example", "HTTP_X_FORWARDED_HOST": "evil.example"}
    verify_environ(environ, PUBLIC_URL, KEYS)
    with pytest.raises(SignatureRejected):
        verify_environ(environ, "http://evil.example", KEYS)


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(target=targets())
def test_refusal_reasons_never_hold_the_signature(target):
    signed = sign(target)
    signature = signed.rpartition("signature=")[2]
    try:
        verify_signed_target(PUBLIC_URL, (signed + "x").encode(), KEYS)
    except SignatureRejected as error:
        assert signature not in error.reason
