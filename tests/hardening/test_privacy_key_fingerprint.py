"""Item 8 of the hardening (its part in transforms.privacy): a hashing key has a short
fingerprint that the run can record, to notice when SURVEYHOUSE_SECRET changes."""

from __future__ import annotations

import hashlib
import hmac
import re

from transforms.privacy import key_fingerprint


def test_a_key_fingerprint_is_stable_and_short():
    assert key_fingerprint(b"deployment secret") == key_fingerprint(b"deployment secret")
    assert re.fullmatch(r"[0-9a-f]{12}", key_fingerprint(b"deployment secret"))


def test_a_key_fingerprint_differs_between_keys():
    # (Not b"" and bytes(32): HMAC pads a short key with zeros, so those two are one key.)
    keys = [b"deployment secret", b"deployment secreT", b"", b"x" * 64, b"x" * 65, bytes(range(32))]
    assert len({key_fingerprint(key) for key in keys}) == len(keys)


def test_a_key_fingerprint_does_not_reveal_the_key():
    key = b"0123456789abcdef0123456789abcdef"
    fingerprint = key_fingerprint(key)
    # Not the key, nor a plain (unkeyed) hash of it that a guess could be tested against.
    assert fingerprint not in key.hex() and fingerprint not in key.decode()
    assert fingerprint != hashlib.sha256(key).hexdigest()[:12]
    assert fingerprint != hashlib.sha256(key.hex().encode()).hexdigest()[:12]
    # It is HMAC-SHA256 under the key: only the key's holder can compute it.
    assert fingerprint == hmac.new(key, b"surveyhouse key fingerprint", hashlib.sha256).hexdigest()[:12]
