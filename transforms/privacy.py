"""Personal data: keyed hashes for identifiers, masks for what people type into free text."""

from __future__ import annotations

import hashlib

import polars as pl

EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
#: International or national phone numbers: 8+ digits with optional separators.
PHONE_PATTERN = r"\+?\d[\d .\-()]{6,}\d"


def keyed_hash(values: pl.Series, *, key: bytes) -> pl.Series:
    """HMAC-SHA256 (hex) of each value, after trimming and lower-casing; null stays null.

    The same email or IP address always gives the same hash under one key, so
    duplicates are still found, but nobody without the deployment's key can test a
    guess against it.
    """
    uniques = values.drop_nulls().unique()
    digest = _hmac_sha256(key)
    hashes = [digest(value.strip().lower().encode("utf-8")) for value in uniques.to_list()]
    table = pl.DataFrame({"value": uniques, "hash": hashes}, schema={"value": pl.Utf8, "hash": pl.Utf8})
    return values.to_frame("value").join(table, on="value", how="left", maintain_order="left")["hash"]


def _hmac_sha256(key: bytes):
    """HMAC-SHA256 (RFC 2104) under one key, as a function of the message (hex digest).

    The same digests as ``hmac.new(key, message, hashlib.sha256).hexdigest()``, at
    twice the speed: the hashes of the padded key are computed once and copied for each
    message, where ``hmac`` builds them again every time (one call per distinct email
    and IP address: a million at a million responses).
    """
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def digest(message: bytes) -> str:
        inside = inner.copy()
        inside.update(message)
        result = outer.copy()
        result.update(inside.digest())
        return result.hexdigest()

    return digest


def masked_text(expr: pl.Expr) -> pl.Expr:
    """Free text with emails and phone numbers replaced by [email] and [phone]."""
    return expr.str.replace_all(EMAIL_PATTERN, "[email]").str.replace_all(PHONE_PATTERN, "[phone]")


def hash_personal_data(frame: pl.DataFrame, *, key: bytes, text_columns: list[str]) -> pl.DataFrame:
    """Replace email and ip_address by keyed hashes and mask personal data in free text."""
    return frame.with_columns(
        *[masked_text(pl.col(column)) for column in text_columns if column in frame.columns],
        email_hash=keyed_hash(frame["email"], key=key),
        ip_hash=keyed_hash(frame["ip_address"], key=key),
    ).drop("email", "ip_address")
