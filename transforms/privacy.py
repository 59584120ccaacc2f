"""Personal data: keyed hashes for identifiers, masks for what people type into free text.

What a person types may hold an email address or a phone number: in a free text, but
also as the answer to a closed question (then it reaches quarantine, its message and the
logs). ``masked_text`` replaces them by ``[email]`` and ``[phone]``, with the same rules
wherever text from a file is kept or shown. The patterns are Rust regular expressions
(Polars), which have no look-around: word boundaries (``\\b``) and the shape of each
number keep dates, times, prices, versions and counts out.
"""

from __future__ import annotations

import hashlib
import hmac
import string

import polars as pl
import polars_hash  # noqa: F401 (the ``chash`` namespace of expressions: HMAC-SHA256 in native code)

from transforms.display import excerpt

#: Separators inside a phone number; each written pattern uses one of them throughout.
_SEPARATORS = (" ", r"\.", "-")
#: Top-level domains an email spelt out in words ("name at example dot com") may end in.
_SPELT_TLDS = "com|org|net|edu|gov|int|info|biz|io|co|me|eu|fr|be|ch|de|at|lu|uk|ie|es|it|nl|pt|ca|us|au|test|example"
#: Words that, after " at ", start ordinary text rather than a spelt-out domain ("at the dot com bubble").
_NOT_A_DOMAIN = ("the", "this", "that", "a", "an", "my", "our", "your", "his", "her", "their", "its", "le", "la", "les")


def _word_except(words: tuple[str, ...]) -> str:
    """A regex for one whole word (``\\w+``, starting with an ASCII character) that is none of
    ``words`` (lower case; matched case-insensitively): Rust regex has no look-ahead."""
    trie: dict = {}
    for word in words:
        node = trie
        for letter in word:
            node = node.setdefault(letter, {})
        node[""] = {}

    def rest(node: dict, *, may_end: bool) -> str:
        letters = "".join(sorted(k for k in node if k))
        # Spelt out as ASCII (a Unicode class less some letters makes the automaton 25 times slower).
        other = "".join(c for c in string.ascii_lowercase + string.digits + "_" if c not in letters)
        options = [rf"[{other}\-]\w*"] + [
            letter + rest(node[letter], may_end="" not in node[letter]) for letter in letters
        ]
        return "(?:" + "|".join(options) + ")" + ("?" if may_end else "")

    return rf"\b{rest(trie, may_end=False)}\b"


def _email_pattern() -> str:
    local = r"[\w.%+\-]+(?:'[\w.%+\-]+)*"  # o'brien@..., but not the quote before 'name@...'
    label = r"[\w\-]+"
    bracket_at = r"\s*[\[({<]\s*(?:at|@|arobase)\s*[\])}>]\s*"
    bracket_dot = r"\s*[\[({<]\s*(?:dot|point|\.)\s*[\])}>]\s*"
    any_dot = rf"(?:{bracket_dot}|\s+(?:dot|point)\s+|\.)"
    # name@example.com, josé.garcía@exämple.test; name [at] example [dot] test, name(at)example.com, ...
    written = rf"{local}(?:@|{bracket_at}){label}(?:{any_dot}{label})*{any_dot}\p{{L}}{{2,}}\b"
    # name at example dot com, jean arobase exemple point fr: spelt out, so a known domain ending only.
    domain = _word_except(_NOT_A_DOMAIN)
    spelt = (
        rf"\b{local}\s+(?:at|arobase)\s+{domain}(?:\s+(?:dot|point)\s+{label})*\s+(?:dot|point)\s+(?:{_SPELT_TLDS})\b"
    )
    return rf"(?i)(?:{written}|{spelt})"


def _phone_pattern() -> str:
    # +33 6 12 34 56 78, +44 (0)20 7946 0958, 0049 30 1234567, +1 (555) 010-9999: a country
    # code, then at least 8 more digits (an area code may stand in parentheses), the first
    # not 0 ("+10 000 000 views" is no phone number).
    international = r"(?:\+|\b00)\s?[1-9]\d{0,2}[ .\-]?(?:\(\d{1,4}\)|[1-9])(?:[ .\-]?(?:\(\d{1,4}\)|\d)){5,13}\d\b"
    national = []
    for s in _SEPARATORS:
        national += [
            rf"\b0[1-9](?:{s}\d{{2}}){{4}}\b",  # 06 12 34 56 78
            rf"\b0\d{{2,4}}{s}\d{{3,4}}{s}\d{{3,4}}\b",  # 020 7946 0958, 0161 496 0000
            rf"\b0\d{{2,4}}{s}\d{{5,8}}\b",  # 07700 900123, 030 1234567
            rf"\b0\d{{1,4}}{s}\d{{2,3}}{s}\d{{2}}{s}\d{{2}}\b",  # 02 123 45 67, 030 123 45 67
            rf"\b[1-9]\d{{2}}{s}\d{{2}}{s}\d{{2}}{s}\d{{2}}\b",  # 612 34 56 78
        ]
    # (555) 010-9999, 555-010-9999, 555.010.9999, 1-800-555-0199
    north_american = r"(?:\b1[ .\-])?(?:\(\d{3}\)\s?|\b\d{3}[ .\-])\d{3}[ .\-]\d{4}\b"
    unseparated = r"\b0\d{8,10}\b"  # 0612345678, 02079460958
    return "|".join([international, *national, north_american, unseparated])


#: An email address in any script, written (``@``, ``[at]``, ``(at)``...) or spelt out ("at ... dot com").
EMAIL_PATTERN = _email_pattern()
#: A phone number, international (+33 ..., 0049 ...) or as written at home (06 12 34 56 78, (555) 010-9999).
PHONE_PATTERN = _phone_pattern()

#: Every email and phone pattern needs one of these to match (an ``@`` or an opening bracket, " at " or
#: " arobase ", a digit), with the same case folding: a text without any is kept as it is, unread by them.
_MAYBE_PERSONAL = r"(?i)[@\[({<\d]|\s(?:at|arobase)\s"

#: What ``str.strip()`` strips of an ASCII text (the characters ``str.isspace`` says are spaces).
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
#: What a key's fingerprint is the HMAC of (see ``key_fingerprint``).
_FINGERPRINT_MESSAGE = b"surveyhouse key fingerprint"


def keyed_hash(values: pl.Series, *, key: bytes) -> pl.Series:
    """HMAC-SHA256 (hex) of each value, after trimming and lower-casing; null stays null.

    The same email or IP address always gives the same hash under one key, so
    duplicates are still found, but nobody without the deployment's key can test a
    guess against it.
    """
    return _hmac_sha256(_normalised(values), key=key)


def _normalised(values: pl.Series) -> pl.Series:
    """Each value as it is hashed, trimmed and lower-cased as Python's ``strip`` and ``lower`` do (null stays null).

    ASCII text (emails and IP addresses, nearly all) in Polars, which does it as Python would;
    each distinct other text by Python itself (Unicode spaces and case).
    """
    value = pl.col("value")
    is_ascii = value.str.len_bytes() == value.str.len_chars()
    other = values.to_frame("value").filter(~is_ascii)["value"].unique()
    others = value.replace(other, [text.strip().lower() for text in other.to_list()]) if len(other) else value
    messages = pl.when(is_ascii).then(value.str.strip_chars(_ASCII_SPACE).str.to_lowercase()).otherwise(others)
    return values.to_frame("value").select(messages).to_series()


#: The prefix of a response id made from personal data (``Layout.ids_from_personal_data``) before it is keyed, and after.
UNKEYED_ID_PREFIX, KEYED_ID_PREFIX = "gf-", "gfk-"


def keyed_response_ids(ids: pl.Series, *, key: bytes) -> pl.Series:
    """The response ids a tool's layout made from personal data (``gf-`` + an unkeyed hash of a
    submission second and an email: anyone holding a candidate email could test a guess), each
    replaced by ``gfk-`` + 16 hex digits of its HMAC under the deployment's key. Equal ids stay
    equal (a cumulative re-export still supersedes), ids of other forms and nulls are unchanged,
    and an id keyed already is never keyed twice."""
    unkeyed = ids.filter(ids.str.starts_with(UNKEYED_ID_PREFIX)).unique()
    if unkeyed.is_empty():
        return ids
    keyed = pl.DataFrame({"id": unkeyed, "keyed": KEYED_ID_PREFIX + keyed_hash(unkeyed, key=key).str.slice(0, 16)})
    joined = ids.to_frame("id").join(keyed, on="id", how="left", maintain_order="left")
    return joined.select(pl.coalesce("keyed", "id").alias(ids.name)).to_series()


def key_fingerprint(key: bytes) -> str:
    """12 hex digits that tell one hashing key from another without revealing it.

    Hashes made under different keys never match, so duplicates across them go unseen:
    the run records this fingerprint and can refuse to mix keys. It is an HMAC under the
    key, so it gives no way to the key itself, nor to any hash made with it.
    """
    return hmac.new(key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:12]


def _hmac_sha256(messages: pl.Series, *, key: bytes) -> pl.Series:
    """HMAC-SHA256 (RFC 2104, hex) of each message under ``key`` (null stays null): the digests
    of ``hmac.new(key, message.encode(), hashlib.sha256).hexdigest()``.

    Computed in native code (the ``polars-hash`` plugin), in Polars, which lets go of Python's
    lock meanwhile: at a million responses, a million and a half emails and IP addresses are
    hashed while the staging's other threads go on. The plugin takes its key as text: a key
    that is no UTF-8 (never one of ``Settings.hashing_key``) is hashed in Python instead.
    """
    try:
        text_key = key.decode("utf-8")
    except UnicodeDecodeError:
        return _python_hmac_sha256(messages, key=key)
    return messages.to_frame("hash").select(pl.col("hash").chash.hmac_sha256(key=text_key)).to_series()


def _python_hmac_sha256(messages: pl.Series, *, key: bytes) -> pl.Series:
    """``_hmac_sha256`` by the standard library, each distinct message once."""
    distinct = messages.drop_nulls().unique()
    found = pl.Series(
        [hmac.digest(key, message, "sha256").hex() for message in distinct.cast(pl.Binary)], dtype=pl.Utf8
    )
    return messages.replace_strict(distinct, found, default=None, return_dtype=pl.Utf8).alias("hash")


def masked_text(expr: pl.Expr) -> pl.Expr:
    """Free text with emails and phone numbers replaced by [email] and [phone]."""
    return expr.str.replace_all(EMAIL_PATTERN, "[email]").str.replace_all(PHONE_PATTERN, "[phone]")


def masked_texts(values: pl.Series) -> pl.Series:
    """``values`` as ``masked_text`` masks them (null stays null): each distinct text that may
    hold an email or a phone number (``_MAYBE_PERSONAL``) goes through the patterns once."""
    distinct = values.drop_nulls().unique()
    maybe = distinct.filter(distinct.str.contains(_MAYBE_PERSONAL))
    hidden = maybe.to_frame("value").select(masked_text(pl.col("value")))["value"]
    changed = hidden != maybe
    return values.replace(maybe.filter(changed), hidden.filter(changed))


def masked(text: str) -> str:
    """``text`` with emails and phone numbers masked, as ``masked_text`` masks a column."""
    return pl.select(masked_text(pl.lit(text, pl.Utf8))).item()


def masked_file_name(name: str) -> str:
    """A file's name as tables, messages and logs keep it: emails and phone numbers in it
    masked (the raw archive alone keeps the name in clear), its extension kept (readers
    go by it): ``from jane@example.com.csv`` -> ``from [email].csv``."""
    shown = masked(name)
    suffix = name[name.rfind(".") :] if "." in name else ""
    return shown if shown == name or shown.endswith(suffix) else shown + suffix


def masked_excerpts(values: pl.Series) -> pl.Series:
    """Each value from a file as a message may quote it: masked, then cut to an excerpt (null stays null)."""
    hidden = masked_texts(values.cast(pl.Utf8))
    distinct = hidden.drop_nulls().unique()
    shown = {value: excerpt(value) for value in distinct.to_list()}
    return hidden.replace_strict(shown, default=None, return_dtype=pl.Utf8)


def hash_personal_data(frame: pl.DataFrame, *, key: bytes, text_columns: list[str]) -> pl.DataFrame:
    """Replace email and ip_address by keyed hashes and mask personal data in free text."""
    return frame.with_columns(
        *[masked_texts(frame[column]) for column in text_columns if column in frame.columns],
        email_hash=keyed_hash(frame["email"], key=key),
        ip_hash=keyed_hash(frame["ip_address"], key=key),
    ).drop("email", "ip_address")
