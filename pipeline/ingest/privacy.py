"""Privacy: redact personal data from free text and pseudonymise customer ids.

Runs on every free-text column (see ``contract.FREE_TEXT``) before a value is validated,
quarantined or stored, so nothing a customer typed reaches the warehouse unredacted.

Each match is replaced by a typed placeholder:

=================  ==============================================================
placeholder        what it catches
=================  ==============================================================
``[EMAIL]``        e-mail addresses
``[WALLET]``       ETH (0x + 40 hex), BTC (legacy 1…/3…, bech32 bc1…), TRON (T + 33 base58)
``[IP]``           IPv4 addresses (each octet 0–255)
``[CN_ID]``        18-character Chinese resident ID numbers with a valid birth date and checksum
``[CARD]``         bank card numbers of 13, 15, 16 or 19 digits (spaces or dashes allowed) passing Luhn
``[PHONE]``        mainland China mobiles (1[3-9]x, optional +86) and international +CC numbers
=================  ==============================================================

Look-alikes left alone: transaction hashes (64 hex, with or without 0x: no rule matches digits that are
part of a longer run of letters and digits), order numbers that fail the ID
checksum or Luhn, amounts, dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_B58 = "1-9A-HJ-NP-Za-km-z"
_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")
WALLET = re.compile(
    _NOT_ALNUM_BEFORE
    + r"(?:0x[0-9a-fA-F]{40}|bc1[02-9ac-hj-np-z]{38,58}|[13]["
    + _B58
    + r"]{25,34}|T["
    + _B58
    + r"]{33})"
    + _NOT_ALNUM_AFTER
)
IPV4 = re.compile(  # a sentence's full stop may follow; a fifth number may not ("1.2.3.4.5" is a version)
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\d|\.\d)"
)
# IDs and cards are bounded against letters as well as digits: a run of digits inside a hex string (a 64-hex
# transaction hash, 0x…) is part of that string, never a card or an ID (issue 13: 0.29% of hashes were damaged).
CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
CARD = re.compile(r"(?<![0-9A-Za-z+-])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z-])")
PHONE = re.compile(  # not inside a longer run of letters and digits (a transaction hash, an order id)
    r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?![0-9A-Za-z])"  # CN mobile, 1xx xxxx xxxx
    r"|(?<![0-9A-Za-z+])(?:\+|00)[1-9]\d{0,2}[ -]?\(?\d{1,4}\)?(?:[ -]?\d){5,11}(?![0-9A-Za-z])"  # international
)
# A cheap RE2 pre-filter: rows matching none of these hold nothing to redact.
CANDIDATE = r"@|\d{6}|\d{3,4}[ -]\d{3,4}|0x[0-9a-fA-F]{40}|bc1|[13T][1-9A-HJ-NP-Za-km-z]{25}|\d\.\d{1,3}\.\d|\+\d"

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def cn_id_check_digit(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a Chinese resident ID's first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body`` + digit pass Luhn."""
    return next(d for d in "0123456789" if luhn_ok(body + d))


def valid_cn_id(s: str) -> bool:
    s = s.upper()
    if len(s) != 18 or not s[:17].isdigit():
        return False
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not 1900 <= int(s[6:10]) <= 2100:
        return False
    return cn_id_check_digit(s[:17]) == s[17]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _sub_id(m: re.Match) -> str:
    return "[CN_ID]" if valid_cn_id(m.group(0)) else m.group(0)


CARD_LENGTHS = {13, 15, 16, 19}  # old Visa, Amex, Visa/Mastercard/UnionPay, UnionPay debit


def _sub_card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[CARD]" if len(digits) in CARD_LENGTHS and luhn_ok(digits) else m.group(0)


# the rules in the order they apply (the order matters: e-mails before phones, IDs before cards)
RULES = ((EMAIL, "[EMAIL]"), (WALLET, "[WALLET]"), (IPV4, "[IP]"), (CN_ID, _sub_id), (CARD, _sub_card),
         (PHONE, "[PHONE]"))


def redact_text(text: str) -> str:
    """Redact one string."""
    for rule, repl in RULES:
        text = rule.sub(repl, text)
    return text


_LOOKAROUND = re.compile(r"\(\?<?[!=](?:\[[^\]]*\]|[^()])*\)")


def _core(rule: re.Pattern) -> str:
    """A rule without its look-arounds, for RE2 (pyarrow): it matches wherever the rule does. Python's ``\\d``
    is any Unicode digit; RE2's only 0-9, hence ``\\p{Nd}``. A placeholder ([EMAIL], ...) is bracketed and no
    core matches a bracket, so a rule matches a text after the earlier rules' replacements only where its
    core matched the original text."""
    return _LOOKAROUND.sub("", rule.pattern).replace(r"\d", r"\p{Nd}")


# WALLET's core is slower in RE2 (its long repetitions) than the rule is in Python on the flagged rows: none
CORES = tuple(None if rule is WALLET else _core(rule) for rule, _ in RULES)


def redact_series(s: pd.Series) -> pd.Series:
    """Redact a column of text, as ``redact_text`` does each value. Rows that hold no candidate are skipped by a
    vectorised pre-filter, and each rule runs only on the rows where its look-around-free core (RE2) matches."""
    if s.empty:
        return s
    arr = pa.array(s.astype("string[pyarrow]"), type=pa.large_string(), from_pandas=True)
    mask = pc.fill_null(pc.match_substring_regex(arr, CANDIDATE), False).to_numpy(zero_copy_only=False)
    if not mask.any():
        return s
    flagged = arr.filter(pa.array(mask))
    texts = flagged.to_pylist()
    for (rule, repl), core in zip(RULES, CORES, strict=True):
        if core is None:
            texts = [rule.sub(repl, t) for t in texts]
            continue
        hits = pc.match_substring_regex(flagged, core).to_numpy(zero_copy_only=False)
        for i in hits.nonzero()[0].tolist():
            texts[i] = rule.sub(repl, texts[i])
    out = s.copy()
    out.loc[s.index[mask]] = texts
    return out


def key_path(db_path: str | Path) -> Path:
    """Where the pseudonym key of a warehouse (``<db>.key``) or a lake (``<lake>/lake.key``) lives."""
    return Path(db_path).with_name(Path(db_path).name + ".key")


def pseudonym_key(db_path: str | Path | None, env_name: str) -> bytes:
    """The HMAC key: from the environment, else a key file beside the warehouse (created once)."""
    env = os.environ.get(env_name)
    if env:
        return env.encode()
    key_file = key_path(db_path or "data/csqa.duckdb")
    if key_file.is_file():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def pseudonymise_series(s: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256, 20 hex chars, prefix 'c_'): stable for a key, not reversible without it."""
    if s.empty:
        return s
    uniques = pd.unique(s.dropna())
    mapping = {
        v: "c_" + hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:20] for v in uniques
    }
    return s.map(mapping).astype(s.dtype)
