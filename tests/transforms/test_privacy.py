"""The HMAC of ``keyed_hash`` (native code, or Python's under a key that is no UTF-8) gives the
standard library's digests, for every kind of value and every length of key."""

from __future__ import annotations

import hashlib
import hmac
import sys

import polars as pl
import pytest

from tests.hardening.test_privacy_masking import KEPT, MASKED
from transforms.privacy import keyed_hash, masked_text, masked_texts

VALUES = [
    "ada@example.com",
    "  Grace.Hopper@Example.ORG ",
    "josé.garcía@example.test",
    "198.51.100.20",
    "",
    None,
    "ada@example.com",  # a value again
    "\u2003ADA@EXAMPLE.COM\u00a0\x1c",  # Unicode spaces, and a separator Python's strip takes
    "İSTANBUL@example.com",  # lower-cased into two code points
    "ΣΑΣ@example.gr",  # a final sigma
    " \t\n ",  # empty once trimmed
    "x" * 10_000 + "@example.com",  # longer than a block
    "2001:DB8::1",
]
KEYS = {
    "short (8 bytes)": b"deploy-1",
    "one block (64 bytes)": bytes(range(64)),
    "longer than a block (100 bytes)": b"k" * 100,
    "empty": b"",
    "not UTF-8": b"\xff\x00\xfe" * 7,
}


def standard_hmac(value: str | None, key: bytes) -> str | None:
    """The reference: hmac.new of the trimmed, lower-cased value (null stays null)."""
    if value is None:
        return None
    return hmac.new(key, value.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_keyed_hash_is_the_standard_hmac_sha256_of_each_value(key):
    assert keyed_hash(pl.Series(VALUES, dtype=pl.Utf8), key=key).to_list() == [standard_hmac(v, key) for v in VALUES]


def test_keyed_hash_matches_a_published_hmac_sha256_vector():
    # RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    assert keyed_hash(pl.Series(["what do ya want for nothing?"]), key=b"Jefe").item() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_the_same_value_under_another_key_hashes_differently():
    values = pl.Series(["ada@example.com"])
    assert keyed_hash(values, key=b"one").item() != keyed_hash(values, key=b"two").item()


def test_masked_texts_masks_every_row_as_the_patterns_do():
    # Each distinct text is masked once, and only one that may hold an email or a phone
    # number: the result must be the patterns' on every row, repeats and nulls included.
    texts = [written for written, _ in MASKED] + KEPT + [None, "", "  "]
    texts += [
        "NAME AT EXAMPLE DOT COM",
        "jean AROBA\u017fE exemple point fr",
        "\u0666\u0661\u0662 34 56 78",
        "no digit here",
    ]
    column = pl.Series(texts * 3, dtype=pl.Utf8)
    by_row = column.to_frame("text").select(masked_text(pl.col("text")))["text"]
    assert masked_texts(column).to_list() == by_row.to_list()
    assert masked_texts(column.head(0)).to_list() == []


#: ASCII values, which are trimmed and lower-cased in Polars: every space Python's strip takes, and none it keeps.
ASCII_VALUES = [
    "\x1c ADA@Example.COM \x1f",
    "\x0b\x0c198.51.100.20\r\n",
    "\x1d\x1e",
    "\x00Grace@example.org\x7f",  # NUL and DEL are not spaces
    "\x85ada@example.com",  # NEL, a space to Python, is not ASCII: Python's own strip
    "MiXeD-Case_123",
]


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_keyed_hash_of_ascii_text_trims_and_lower_cases_as_python_does(key):
    values = pl.Series(ASCII_VALUES, dtype=pl.Utf8)
    assert keyed_hash(values, key=key).to_list() == [standard_hmac(v, key) for v in ASCII_VALUES]


#: Every kind of value an email or IP address column may hold, each hashed as ``hmac.digest`` hashes it.
KINDS_OF_VALUE = {
    "empty": "",
    "ASCII": "ada@example.com",
    "non-ASCII, composed (NFC)": "jos\u00e9@example.test",
    "non-ASCII, decomposed (NFD)": "jose\u0301@example.test",  # not the NFC one's hash: no normalisation, as before
    "longer than a block (> 64 bytes)": "a" * 70 + "@example.com",
    "longer than 2 KB": "b" * 2100 + "@example.com",
    "non-ASCII and long": "\u00e9" * 1500 + "@example.test",
    "null": None,
}


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_keyed_hash_is_hmac_digest_for_every_kind_of_value(key):
    values = list(KINDS_OF_VALUE.values())
    expected = [None if v is None else hmac.digest(key, v.strip().lower().encode(), "sha256").hex() for v in values]
    assert keyed_hash(pl.Series(values, dtype=pl.Utf8), key=key).to_list() == expected
    nfc, nfd = KINDS_OF_VALUE["non-ASCII, composed (NFC)"], KINDS_OF_VALUE["non-ASCII, decomposed (NFD)"]
    assert keyed_hash(pl.Series([nfc, nfd]), key=key).n_unique() == 2


def _python_calls(work) -> int:
    """How many Python and built-in functions ``work()`` calls (``sys.setprofile``'s events)."""
    calls = 0

    def count(_frame, event, _arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


def test_keyed_hash_calls_no_python_per_value_so_other_threads_go_on():
    # The hashing of a million and a half emails and IP addresses runs in native code, without
    # Python's lock: no Python function (nor built-in) is called once per value.
    def hashed(count: int):
        values = pl.Series(
            [f"user{n}@example.com" for n in range(count)] + [f"10.0.{n % 256}.{n // 256}" for n in range(count)]
        )
        return lambda: keyed_hash(values, key=b"deploy-1")

    few, many = _python_calls(hashed(100)), _python_calls(hashed(20_000))
    assert many - few < 100, f"{many - few} more Python calls for 39,800 more values"


def test_the_key_is_in_nothing_polars_prints_while_hashing(capfd):
    # The native HMAC is told its key inside a Polars expression: Polars' verbose output (POLARS_VERBOSE)
    # and the text of a failed expression name the plugin, never its arguments.
    key = "the-deployment-secret-7f3a"
    with pl.Config(verbose=True):
        keyed_hash(pl.Series(["ada@example.com", None, "198.51.100.20"] * 1000), key=key.encode())
        with pytest.raises(pl.exceptions.ComputeError) as failed:
            pl.DataFrame({"value": [1]}).select(pl.col("value").chash.hmac_sha256(key=key))
    printed = capfd.readouterr()
    assert key not in printed.out + printed.err + str(failed.value)
