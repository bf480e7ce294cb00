"""Privacy: redact personal data from free text and pseudonymise customer ids.

Runs on every free-text column (see ``contract.FREE_TEXT``) before a value is validated,
quarantined or stored, so nothing a customer typed reaches the warehouse unredacted.

Each match is replaced by a typed placeholder:

=================  ==============================================================
placeholder        what it catches
=================  ==============================================================
``[EMAIL]``        e-mail addresses (the full-width ＠ of Chinese input methods too), also spelled out
                   ("john [at] gmail [dot] com", "anna arroba qq ponto com", "x@163点com")
``[WALLET]``       ETH (0x + 40 hex), BTC (legacy 1…/3…, bech32 bc1…), TRON (T + 33 base58)
``[IP]``           IPv4 addresses (each octet 0–255) and IPv6 addresses (full or ``::``-compressed, valid)
``[CN_ID]``        18-character Chinese resident ID numbers with a valid birth date and checksum (whole or 6-8-4)
``[NATIONAL_ID]``  Hong Kong identity cards, Taiwan national IDs and Singapore NRIC/FIN numbers passing
                   their check character; US social security numbers written ``123-45-6789``
``[IBAN]``         international bank account numbers (15–34 characters, spaces allowed) passing mod 97
``[CARD]``         bank card numbers of 13, 15, 16 or 19 digits (spaces or dashes allowed) in an issuer's range
                   passing Luhn
``[PHONE]``        mainland China mobiles (1[3-9]x, optional +86), international +CC numbers, national
                   formats by their shape ("020 7946 0958", "(415) 555-0132"), and any 7-15 digits right
                   after a word naming a phone ("WhatsApp: 9123 4567", "电话 …", "teléfono …")
=================  ==============================================================

Look-alikes left alone: transaction hashes (64 hex, with or without 0x: no rule matches digits that are
part of a longer run of letters and digits), order numbers that fail the ID
checksum or Luhn, amounts, dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_B58 = "1-9A-HJ-NP-Za-km-z"
_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+[@＠][A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")
# An address spelled out to get past filters: "john.doe [at] gmail [dot] com", "john(at)gmail(dot)com",
# "john @ gmail . com", "x@163点com", "anna arroba qq ponto com", "jonas [ät] outlook [punkt] com", "z собака naver
# точка com", "linh a còng 163 chấm com", "john艾特qq点com". With a bare English " at " only a mail provider's domain
# ("john at gmail.com") or a spelled-out dot ("john at acme dot com") counts, and its dots are unspaced or spelled:
# "logged in at binance.com" and "bad at waiting. dot dot dot" stay.
# the words for "at" and "dot" in the customers' languages; the CJK and Thai ones need no spaces around them
_AT_WORDS_SPACED = r"ät|arroba|arobase|chiocciola|собака|a còng|آت"  # never prose, so any domain may follow
_AT_WORDS = r"at|@|et|" + _AT_WORDS_SPACED
_AT_WORDS_GLUED = r"艾特|圈a|圈|小老鼠|アットマーク|골뱅이|แอท|★"
_DOT_WORDS_SPACED = r"dot|punkt|ponto|punto|point|точка|chấm|nokta|titik|دوت"
_DOT_WORDS = r"\.|" + _DOT_WORDS_SPACED
_DOT_WORDS_GLUED = r"点|點|。|ドット|닷|ดอท"
_OPEN, _CLOSE = r"[\[({<\uff08\u3010]", r"[\])}>\uff09\u3011]"  # full-width brackets too
_AT = (r"(?:\s?" + _OPEN + r"\s?(?i:" + _AT_WORDS + r")\s?" + _CLOSE + r"\s?|\s?@\s?|\s?(?:" + _AT_WORDS_GLUED
       + r")\s?|\s(?i:" + _AT_WORDS_SPACED + r")\s)")
_DOT_BRACKETED = (r"\s?" + _OPEN + r"\s?(?i:" + _DOT_WORDS + r")\s?" + _CLOSE + r"\s?|\s?(?:" + _DOT_WORDS_GLUED
                  + r")\s?")
_DOT = r"(?:" + _DOT_BRACKETED + r"|\s(?i:" + _DOT_WORDS_SPACED + r")\s|\s?\.\s?)"
# after an English " at ": "dot" only ("at this point and" is prose), and no spaces around a full stop
_DOT_SPELLED = r"(?:" + _DOT_BRACKETED + r"|\s(?i:dot)\s)"
_DOT_TIGHT = r"(?:" + _DOT_SPELLED + r"|\.)"
_PROVIDERS = (r"gmail|googlemail|yahoo|ymail|hotmail|outlook|live|msn|icloud|me|aol|proton|protonmail|pm|gmx|web|"
              r"yandex|mail|qq|foxmail|163|126|yeah|sina|sohu|aliyun|naver|daum|hanmail|kakao|nate|docomo|ezweb|"
              r"softbank|uol|bol|terra|libero|orange|free|wanadoo|t-online|rambler|bk|inbox|list|seznam|wp|o2|onet")
_LABEL = r"[A-Za-z0-9-]+"
EMAIL_SPELLED = re.compile(
    r"(?<![0-9A-Za-z._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*"
    r"(?:" + _AT + _LABEL + r"(?:" + _DOT + _LABEL + r")*" + _DOT
    # a mail provider's domain after " at " (or Turkish " et ", or "#"): any dot word, no spaced full stop
    + r"|(?:\s(?i:at|et)\s|#)(?i:" + _PROVIDERS + r")(?:(?:" + _DOT_SPELLED + r"|\s(?i:" + _DOT_WORDS_SPACED
    + r")\s|\.)" + _LABEL + r")*(?:" + _DOT_SPELLED + r"|\s(?i:" + _DOT_WORDS_SPACED + r")\s|\.)"
    + r"|\s(?i:at)\s" + _LABEL + r"(?:" + _DOT_TIGHT + _LABEL + r")*" + _DOT_SPELLED + r")"
    r"[A-Za-z]{2,24}(?![A-Za-z])"
)
WALLET = re.compile(
    _NOT_ALNUM_BEFORE
    + r"(?:0x[0-9a-fA-F]{40}|bc1[02-9ac-hj-np-z]{38,87}|BC1[02-9AC-HJ-NP-Z]{38,87}|[13]["
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
# written whole or in the 6-8-4 groups of the card ("430104 19600827 9367")
CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{6} ?\d{8} ?\d{3}[\dXx](?![0-9A-Za-z])")
CARD = re.compile(r"(?<![0-9A-Za-z+-])\d(?:(?: {1,2}|-)?\d){12,18}(?![0-9A-Za-z-])")  # "5304  5644 …" from PDFs
PHONE = re.compile(  # not inside a longer run of letters and digits (a transaction hash, an order id)
    r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?![0-9A-Za-z])"  # CN mobile, 1xx xxxx xxxx
    # international; not the "003 113 443" of an amount "4 003 113 443"
    r"|(?<![0-9A-Za-z+])(?<!\d )(?:\+|00)[1-9]\d{0,2}[ -]?\(?\d{1,4}\)?(?:[ -]?\d){5,11}(?![0-9A-Za-z])"
)
# IPv6: a run of hex groups and colons (an IPv4 tail allowed; a label such as "IP:" or "IP" may precede it), kept
# only if Python's ipaddress accepts it and it has three non-empty groups or an IPv4 tail (so "std::vector",
# "dead::beef" or a time "12:30:45" is never an address)
IPV6 = re.compile(r"(?<![0-9A-Fa-f.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
                  r"(?![0-9A-Za-z:]|\.\d)")
# IBAN: country, check digits, then groups of four (a space between groups allowed); validated by mod 97 on the
# longest prefix of whole groups, so the words after an IBAN are never part of it. Not inside a longer token
# (a hex hash), except right after the word IBAN ("IBANGB82…")
IBAN = re.compile(r"(?:(?<![0-9A-Za-z])|(?<=IBAN)|(?<=iban))[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}"
                  r"(?: ?[A-Za-z0-9]{1,3})?(?![0-9A-Za-z])")
NATIONAL_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:[A-Za-z]{1,2}\d{6}(?: ?[(\uff08][0-9Aa][)\uff09]|[0-9Aa])"  # Hong Kong: A123456(3)
    r"|[A-Za-z][1289]\d{8}"  # Taiwan: A123456789
    r"|[STFGstfg]\d{7}[A-Za-z])(?![0-9A-Za-z])"  # Singapore NRIC / FIN: S1234567D
)
# Phone numbers in national formats (no +country code), in two ways:
# - by shape: a trunk-0 number in groups ("020 7946 0958", "090-1234-5678", "0912 345 678", "06 12 34 56 78",
#   "0151 23456789", "010-12345678"), an area code in brackets ("(415) 555-0132", "(11) 91234-5678",
#   "8 (912) 345-67-89"), North American 3-3-4 ("415-555-0132", "1-800-555-0199") and Spanish 3-2-2-2 mobiles;
#   9 to 13 digits in all (``_sub_phone_national``). Dates (2026-11-24, 24.11.2026), amounts and dashed order
#   numbers have other shapes, and nothing glued to letters, dashes or dots counts ("ORD-020-1234-5678").
# - by context: 7 to 15 digits (separators allowed) within a few characters after a word that names a phone
#   ("my number", 电话, 電話番号, 전화번호, số điện thoại, nomor HP, teléfono, телефон, WhatsApp …): what has no
#   telling shape ("9123 4567", "4155550132", "612 345 678") is caught where the customer says what it is.
_NB, _NA = r"(?<![0-9A-Za-z+.,/-])(?<!\d )", r"(?![0-9A-Za-z]|[.,/:-]\d| \d)"
PHONE_NATIONAL = re.compile(
    _NB + r"(?:0[1-9]\d{0,3}(?:[ -]\d{2,8}){1,4}"  # trunk 0 and groups ("00" starts an international number)
    # 0160/9902199, 333/0029458, 04.63.68.38.38 (not a date: 02/03/2026)
    r"|(?:0[1-9]\d{1,4}|3\d{2})/\d{5,8}|0[1-9](?:\.\d{2}){4}"
    r"|0\d{1,2}\.\d{3,4}\.\d{4}|0\d{1,4}\(\d{1,4}\)\d{4}"  # 010.8347.9099, 06(7773)9940
    r"|0[1-9]\d{8,9}"  # trunk 0 and 9 or 10 digits, unbroken (07700900014, 01092705226, 0774595419)
    r"|(?:[18][ -]?)?\(\d{2,5}\) ?\d{1,5}(?:[ .-]?\d{2,4}){1,3}"  # (area code)
    r"|[1-9]{2} 9\d{4}-\d{4}"  # Brazil: DDD and a mobile, 31 96766-9574
    r"|[1-9]\d \d{3} \d{2} \d{2}|[1-9]\d \d{4} \d{4}"  # Spanish, Polish landlines 93 235 33 04; Mexico 33 0939 5168
    # North American, dashes or dots throughout (with spaces it is as often an order or a bank reference)
    r"|(?:1[.-])?[2-9]\d{2}(?:-\d{3}-|\.\d{3}\.)\d{4}"
    r"|[6-9]\d{2}(?: \d{2}){3})" + _NA  # Spanish mobile 612 34 56 78
)
PHONE_WORDS = (r"phone|telephone|tel|mobile|cell|cellphone|call me(?: at| on)?|text me(?: at| on)?|reach me(?: at| on)?"
               r"|reachable(?: at| on)?|raggiungibile(?: al)?|whats ?app|telegram|viber|zalo|sms|contact number"
               r"|my number|电话|電話|手机|手機|联系方式|聯絡方式|联系电话|携帯|전화|휴대폰|핸드폰|연락처"
               r"|điện thoại|đt|sđt|sdt"
               r"|nomor hp|no\.? hp|nomor telepon|telepon|ponsel|hp|wa|เบอร์|โทร|teléfono|telefono|móvil|movil|celular"
               r"|telefone|telemóvel|zap|telefon|handy|handynummer|téléphone|portable|tél|номер телефона|телефон|тел"
               r"|моб|هاتف|جوال|واتساب"
               # "call me" / "reach me" / "my number"
               r"|llámame(?: al)?|llamame(?: al)?|mi número|me liga(?: no)?|ligue(?: para)?|meu número"
               r"|appelez-moi(?: au)?|appelle-moi(?: au)?|mon numéro|erreichen mich(?: unter)?|anrufen|meine nummer"
               r"|перезвоните(?: мне)?|позвоните(?: мне)?|мой номер|ulaşın|arayın|연락\S{0,4}|電話して|連絡"
               r"|gọi(?: cho)?(?: tôi| mình)?|hubungi(?: saya)?|โทรหา|اتصل"
               r"|cellulare|chiamami(?: al)?|llámenme(?: al)?|llámeme(?: al)?|komórka|telefonu|zadzwoń")
# the number first (fast), then the words before it (``_sub_phone_context``)
PHONE_CONTEXT = re.compile(_NB + r"\+?\(?\d(?:[ ()./-]{0,2}\d){6,14}" + _NA)
_PHONE_WORDS_BEFORE = re.compile(r"(?i)(?<![A-Za-z])(?:" + PHONE_WORDS + r")(?![A-Za-z])[^\d\n\[]{0,20}$")
US_SSN = re.compile(r"(?<![0-9A-Za-z-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![0-9A-Za-z-])")
# A cheap RE2 pre-filter: rows matching none of these hold nothing to redact.
CANDIDATE = (r"@|＠|\d{6}|\d{3,4}[ -]\d{3,4}|0x[0-9a-fA-F]{9}|bc1|BC1|[13T][1-9A-HJ-NP-Za-km-z]{19}"
             r"|(?i:mail|邮箱|邮件|電郵|メール|이메일|correo|courriel|почта)"
             r"|\d\.\d{1,3}\.\d|\+\d|[０-９]{4}|[\x{0660}-\x{0669}\x{06F0}-\x{06F9}]{4}"
             r"|[0-9A-Fa-f]?:[0-9A-Fa-f]{0,4}:|[A-Za-z]{2}\d{2} ?[A-Za-z0-9]{4} ?[A-Za-z0-9]{4}|\d{3}-\d{2}-\d{4}"
             r"|\d{2}[ .-]\d{2}[ .-]\d{2}|\d{3,4}[.)]\d{4}|\d{4}  \d{4}"
             r"|" + _OPEN + r"\s?(?i:at|@)\s?" + _CLOSE + r"|\s(?i:dot)\s|(?:\s(?i:at|et)\s|#)(?i:" + _PROVIDERS + ")"
             r"|(?i:" + _AT_WORDS_SPACED + "|" + _AT_WORDS_GLUED + ")")

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
    return "[CN_ID]" if valid_cn_id(m.group(0).replace(" ", "")) else m.group(0)


CARD_LENGTHS = {13, 15, 16, 19}  # old Visa, Amex, Visa/Mastercard/UnionPay, UnionPay debit


def card_ok(digits: str) -> bool:
    """A card number's length, issuer range and Luhn check. Issuers' numbers start with 2–6 (Mir, Amex/JCB,
    Visa, Mastercard, UnionPay/Discover) or 9 (Troy); 13 digits are old Visa only. So millisecond timestamps
    and order numbers starting with 1 are never cards, whatever their check digit."""
    if len(digits) not in CARD_LENGTHS or digits[0] not in "234569" or (len(digits) == 13 and digits[0] != "4"):
        return False
    return luhn_ok(digits)


def _sub_card(m: re.Match) -> str:
    return "[CARD]" if card_ok(re.sub(r"\D", "", m.group(0))) else m.group(0)


def valid_ipv6(s: str) -> bool:
    """An IPv6 address with at least three non-empty groups or an IPv4 tail: ``2001:db8::1`` and
    ``::ffff:192.0.2.1`` are, code such as ``a::b`` or ``dead::beef`` is not."""
    if sum(1 for g in s.split(":") if g) < 3 and "." not in s:
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def _sub_ipv6(m: re.Match) -> str:
    text = m.group(0)
    if valid_ipv6(text):
        return "[IP]"
    # a label's colon taken for an empty group ("IP:2001:db8::1")
    if text.startswith(":") and not text.startswith("::") and valid_ipv6(text[1:]):
        return ":[IP]"
    return text


def iban_ok(s: str) -> bool:
    """ISO 13616: 15–34 letters and digits whose rearranged number is 1 modulo 97."""
    s = s.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    return _mod97(s[4:] + s[:4]) == 1


def _mod97(s: str) -> int:
    """ISO 7064 MOD 97-10 of letters and digits, letters read as 10–35."""
    return int("".join(str(int(c, 36)) for c in s)) % 97


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country`` + digits + ``bban`` an IBAN."""
    return f"{98 - _mod97(bban + country + '00'):02d}"


def _sub_iban(m: re.Match) -> str:
    text = m.group(0)
    # the longest prefix of whole groups that is an IBAN (a following word may have been taken for a group)
    ends = [len(text)] + [i for i in range(len(text) - 1, 0, -1) if text[i] == " "]
    for end in ends:
        if iban_ok(text[:end]):
            return "[IBAN]" + text[end:]
    return text


_HK_VALUE = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_TW_LETTER = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))
_SG_ST, _SG_FG = "JZIHGFEDCBA", "XWUTRQPNMLK"


def valid_national_id(s: str) -> bool:
    """Hong Kong identity card, Taiwan national ID or Singapore NRIC/FIN: format and check character."""
    s = re.sub(r"[()\uff08\uff09 ]", "", s.upper())
    if len(s) == 10 and s[0].isalpha() and s[1:].isdigit():  # Taiwan
        n = _TW_LETTER[s[0]]
        total = n // 10 + 9 * (n % 10) + sum(int(d) * w for d, w in zip(s[1:9], range(8, 0, -1), strict=True))
        return (total + int(s[9])) % 10 == 0
    if len(s) == 9 and s[0] in "STFG" and s[1:8].isdigit() and s[8].isalpha():  # Singapore
        total = sum(int(d) * w for d, w in zip(s[1:8], (2, 7, 6, 5, 4, 3, 2), strict=True))
        total += 4 if s[0] in "TG" else 0
        return (_SG_ST if s[0] in "ST" else _SG_FG)[total % 11] == s[8]
    if len(s) in (8, 9) and s[:-7].isalpha() and s[-7:-1].isdigit():  # Hong Kong (one or two letters)
        body = s[:-1] if len(s) == 9 else " " + s[:-1]
        total = sum((36 if c == " " else _HK_VALUE[c]) * w for c, w in zip(body, range(9, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        return s[-1] == ("A" if check == 10 else str(check))
    return False


def _sub_national_id(m: re.Match) -> str:
    return "[NATIONAL_ID]" if valid_national_id(m.group(0)) else m.group(0)


# full-width digits, letters, @, - and . (what a Chinese input method in full-width mode types) -> ASCII, one to one
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in [0xFF0D, 0xFF0E, *range(0xFF10, 0xFF1A), 0xFF20, *range(0xFF21, 0xFF3B),
                                         *range(0xFF41, 0xFF5B)]}
# and Arabic-Indic digits (Arabic, Persian, Urdu keyboards) as 0-9
_FULLWIDTH.update({cp: 0x30 + i for base in (0x0660, 0x06F0) for i, cp in enumerate(range(base, base + 10))})
_HAS_FULLWIDTH = re.compile("[\uff0d\uff0e\uff10-\uff5a\u0660-\u0669\u06f0-\u06f9]")
# four dotted numbers after one of these words are a version, not an IPv4 address ("client version 4.3.29.39")
_VERSION_BEFORE = re.compile(r"(?:\b(?:version|ver\.?|v|build|firmware|fw|release)|/|版本号?|固件)[\s:：=]*$", re.I)


def _sub_ipv4(m: re.Match) -> str:
    before = m.string[max(0, m.start() - 12):m.start()]
    if _VERSION_BEFORE.search(before) and not before.endswith("//"):  # "Chrome/120.0.0.0", not "http://1.2.3.4"
        return m.group(0)
    return "[IP]"


def _digits_between(text: str, low: int, high: int) -> bool:
    return low <= sum(c.isdigit() for c in text) <= high


_TOLL_FREE_NANP = ("800", "833", "844", "855", "866", "877", "888")


def hotline(text: str) -> bool:
    """A business's number, nobody's personal data: China's 400/800 lines, North American toll-free (+1 800 …),
    UK non-geographic and freephone numbers written with +44 (03…, 080…, 084…, 087…: without it, 080… is a
    Japanese mobile and 030… a Berlin line), Indonesian call-centre codes (1500…)."""
    d = re.sub(r"\D", "", text)
    if text.lstrip().startswith(("+", "00")):  # a country code first
        d = d.removeprefix("00")
        if d.startswith("44"):
            return d[2:].startswith(("3", "80", "84", "87"))
        d = d[1:] if d.startswith("1") else d
    elif len(d) == 11 and re.match(r"\s*1[ .-]", text):  # 1-800-…; never a mainland mobile (18001234567)
        d = d[1:]
    return (len(d) == 10 and d[:3] in ("400", *_TOLL_FREE_NANP)) or (len(d) in (6, 7) and d.startswith("1500"))


def _personal_number(text: str, low: int, high: int) -> bool:
    return _digits_between(text, low, high) and not hotline(text)


# what follows the last dot of a file name ("logo@2x.png", "icon@3x.svg"), not of an address
_FILE_TYPES = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "pdf", "js", "css", "json", "txt", "zip",
               "mp4", "mov"}
_TLD = re.compile(r"[A-Za-z]+$")


def _sub_email(m: re.Match) -> str:
    text = m.group(0)
    return text if _TLD.search(text).group(0).lower() in _FILE_TYPES else "[EMAIL]"


def _sub_email_spelled(m: re.Match) -> str:
    text = m.group(0)  # "at home dot dot dot" is no address
    if text[-4:].lower() in (" dot", "]dot", ")dot"):
        return text
    return _sub_email(m)


def _sub_phone_international(m: re.Match) -> str:
    """A mainland mobile or an international number: at most 15 digits after + or 00 (E.164), so a 20-digit
    tracking number that starts with 00 is not one; a toll-free +1 800 … is a business's."""
    text = m.group(0)
    digits = re.sub(r"\D", "", text)
    return "[PHONE]" if len(digits.removeprefix("00")) <= 15 and not hotline(text) else text


def _sub_phone_national(m: re.Match) -> str:
    return "[PHONE]" if _personal_number(m.group(0), 9, 13) else m.group(0)


def _sub_phone_context(m: re.Match) -> str:
    number, start = m.group(0), m.start()
    if _personal_number(number, 7, 15) and _PHONE_WORDS_BEFORE.search(m.string, max(0, start - 45), start):
        return "[PHONE]"
    return number


# A value cut off where the text ends: helpdesk exports cut subjects and previews at a fixed length ("my email is
# alice.wong2@g", "card 4111 1111 1111", "bc1qar0srrr7xfkvy5l64"), so the rules above, which need a whole address,
# a valid checksum or a full length, miss it and the part kept still identifies the customer. At the very end of
# the text (an ellipsis or blanks may follow), the start of a value whose shape tells its kind (TRUNCATED):
# - an address's local part and @ with the domain's start; spelled out; or the local part alone after "my email is";
# - a 0x wallet's first 9-39 hex digits (an error code's 8 stay: 0x80070005), a bech32 address's first 8+
#   characters, a TRON or legacy address's first 20+ (with a digit);
# - a Chinese ID's 6-8 groups;
# or, after a word naming its kind, any value's start (TRUNCATED_AFTER_WORDS, below): a card's groups alone are
# amounts as often ("4000 1000 2000"), and bank references end texts in an IBAN's shape.
_TAIL_END = r"(?=\s*[\u2026.]{0,3}\s*$)"
# words naming a kind of value, and the start of such a value after them (the value runs to the text's end)
_CONTEXT_TAILS = {
    "cn_id": (r"身份证号?码?|证件号码?|实名信息|(?i:resident id|chinese id|id card|id number|national id)",
              r"(?<![0-9A-Za-z])\d{6}(?: ?\d){2,11}[Xx]?"),
    "card": (r"卡号|银行卡号?|信用卡号?"
             r"|(?i:card|carte|cartão|tarjeta|karte|kartu|thẻ|картой|карта|карты|visa|mastercard|amex|unionpay)",
             r"(?<![0-9A-Za-z])\d(?:[ -]?\d){7,18}[ -]?"),
    "iban": (r"(?i:iban)", r"(?<![0-9A-Za-z])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){2,30}"),
    "ip": (r"(?<![A-Za-z])(?i:ip(?:v[46])?)(?![A-Za-z])",
           r"(?<![0-9A-Za-z.:])(?:\d{1,3}\.(?:\d{1,3}\.?){1,2}|[0-9a-fA-F]{1,4}:(?:[0-9a-fA-F]{0,4}:?){1,7})"),
    "wallet": (r"地址|钱包|(?i:address|wallet|adres|adresse|dirección|carteira|endereço|ví|кошел|адрес)",
               r"(?<![0-9A-Za-z])(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{8,}"),
}
TRUNCATED = re.compile(
    r"(?:(?P<email>(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{2,}[@\uff20][A-Za-z0-9.-]*(?: ?[\[(\uff08]? ?[A-Za-z]{1,5})?)"
    # cut before the "@", after words that say it is an address ("my email is alice.wong2", "邮箱：li_si"): a run
    # with a digit, an underscore or a dot inside it ("the email is wrong", "mail is slow." stay)
    r"|(?P<email_context>(?P<email_words>"
    r"(?i:e-?mail(?: address)?|mail|邮箱|邮件地址|電郵|メール|이메일|correo|courriel|почта|email của tôi)"
    r"\s?(?:(?i:is|es|est|ist|é|là)\s|[:：是为]\s?|\s))"
    r"(?<![A-Za-z0-9._%+-])(?=[A-Za-z]*[0-9_]|[A-Za-z]*\.[A-Za-z0-9])[A-Za-z0-9._%+-]{2,})"
    # spelled out ("zhang.san [at] naver [do", "li_si arroba gmail pu"), or "@" spaced after an id with a digit
    r"|(?P<email_spelled>(?<![A-Za-z0-9._%+-])(?:[A-Za-z0-9._%+-]{2,}(?:\s?" + _OPEN + r"\s?(?i:" + _AT_WORDS
    + r")\s?" + _CLOSE + r"\s?|\s?(?:" + _AT_WORDS_GLUED + r")|\s(?i:" + _AT_WORDS_SPACED + r")\s)"
    r"|[A-Za-z._%+-]*\d[A-Za-z0-9._%+-]*\s@\s)[A-Za-z0-9-]{1,63}[^\n]{0,8})"
    r"|(?P<wallet>(?<![0-9A-Za-z])(?:0x[0-9a-fA-F]{9,39}|(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{8,}"
    # TRON and legacy addresses: 20+ base58 characters with a digit (no word is)
    + r"|[13T](?=[" + _B58 + r"]*\d)[" + _B58 + r"]{19,34}))"
    r"|(?P<cn_id>(?<![0-9A-Za-z])\d{6} \d{8}(?: \d{0,3})?))"
    + _TAIL_END
)
# after words that name the kind (a held-out set, 2026-11-28: cut IDs, IBANs, ungrouped cards, IPs and short wallet
# starts were left), the value's start whatever its shape; a card only so (a list of amounts, "4000 1000 2000", has
# a card's shape)
TRUNCATED_AFTER_WORDS = re.compile(
    "(?:" + "|".join(rf"(?P<ctx_{kind}>(?P<w_{kind}>(?:{words})[^\d\n]{{0,25}}?){value})"
                     for kind, (words, value) in _CONTEXT_TAILS.items()) + ")" + _TAIL_END)
_TAIL_PLACEHOLDERS = {"email": "[EMAIL]", "email_context": "[EMAIL]", "email_spelled": "[EMAIL]",
                      "wallet": "[WALLET]", "cn_id": "[CN_ID]",
                      **{f"ctx_{kind}": f"[{kind.upper()}]" for kind in _CONTEXT_TAILS}}
# a transaction's hash cut off after its word is no wallet ("TXID 0x6611ea78935d…")
_TX_BEFORE = re.compile(r"(?i)(?:tx|txid|txn|hash|transaction|交易|哈希)\W{0,3}$")


def _sub_truncated(m: re.Match) -> str:
    kind = next(k for k, v in m.groupdict().items() if v is not None and k in _TAIL_PLACEHOLDERS)
    if kind == "email" and EMAIL.fullmatch(m.group(0)):  # a whole address the e-mail rule kept (logo@2x.png)
        return m.group(0)
    if kind in ("wallet", "ctx_wallet") and _TX_BEFORE.search(m.string, 0, m.start()):
        return m.group(0)
    if kind == "email_context":  # the words stay
        return m.group("email_words") + "[EMAIL]"
    if kind.startswith("ctx_"):
        return m.group("w_" + kind.removeprefix("ctx_")) + _TAIL_PLACEHOLDERS[kind]
    return _TAIL_PLACEHOLDERS[kind]


# the rules in the order they apply (the order matters: e-mails before phones, IPv6 before IPv4, IDs and IBANs
# before cards; cut-off values last, on what the others left)
RULES = ((EMAIL, _sub_email), (EMAIL_SPELLED, _sub_email_spelled), (WALLET, "[WALLET]"), (IPV6, _sub_ipv6),
         (IPV4, _sub_ipv4), (IBAN, _sub_iban), (NATIONAL_ID, _sub_national_id), (US_SSN, "[NATIONAL_ID]"),
         (CN_ID, _sub_id), (CARD, _sub_card), (PHONE, _sub_phone_international), (PHONE_CONTEXT, _sub_phone_context),
         (PHONE_NATIONAL, _sub_phone_national), (TRUNCATED, _sub_truncated),
         (TRUNCATED_AFTER_WORDS, _sub_truncated))


def redact_text(text: str) -> str:
    """Redact one string. Digits and letters typed full-width are read as ASCII: a text that holds personal
    data comes back redacted with them in ASCII; any other text comes back unchanged."""
    norm = out = _ascii(text)
    for rule, repl in RULES:
        out = rule.sub(repl, out)
    return text if out == norm else out


def _ascii(text: str) -> str:
    return text.translate(_FULLWIDTH) if _HAS_FULLWIDTH.search(text) else text


_LOOKAROUND = re.compile(r"\(\?<?[!=](?:\[[^\]]*\]|[^()])*\)")


def _core(rule: re.Pattern) -> str:
    """A rule without its look-arounds, for RE2 (pyarrow): it matches wherever the rule does. Python's ``\\d``
    is any Unicode digit; RE2's only 0-9, hence ``\\p{Nd}``; RE2 spells ``\\uXXXX`` as ``\\x{XXXX}``. Matched
    against the texts as the earlier rules left them (``redact_series``)."""
    return _re2(_LOOKAROUND.sub("", rule.pattern).replace(r"\d", r"\p{Nd}"))


def _re2(pattern: str) -> str:
    """RE2 spells Python's ``\\uXXXX`` as ``\\x{XXXX}``."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", pattern)


# WALLET's core is slower in RE2 (its long repetitions) than the rule is in Python on the flagged rows: none.
# PHONE_CONTEXT finds numbers and then looks for the words before them: its core is the words and the number
# (the rows with a number but no such words are most).
_PHONE_CONTEXT_CORE = _core(re.compile(_PHONE_WORDS_BEFORE.pattern.removesuffix("$") + PHONE_CONTEXT.pattern))
# TRUNCATED's core keeps its anchor at the text's end (as a look-ahead it would be dropped, and the core would match
# every address-like run anywhere: half the flagged rows of the P1 file, 0.9 s of RE2 and 0.8 s of Python); it runs
# on the texts the other rules have redacted (redact_series)
_TRUNCATED_CORE = _core(re.compile(TRUNCATED.pattern.replace(_TAIL_END, r"\s*[\u2026.]{0,3}\s*$")))
# TRUNCATED_AFTER_WORDS's core is its words alone: with the gap and the values RE2 leaves its fast automaton (5 s on
# the P1 file's flagged rows against 0.03 s)
_CONTEXT_WORDS = _re2("|".join(_LOOKAROUND.sub("", words) for words, _ in _CONTEXT_TAILS.values()))
_CANDIDATE_RE2 = _re2(CANDIDATE)
CORES = tuple(None if rule is WALLET else _PHONE_CONTEXT_CORE if rule is PHONE_CONTEXT
              else _TRUNCATED_CORE if rule is TRUNCATED else _CONTEXT_WORDS if rule is TRUNCATED_AFTER_WORDS
              else _core(rule) for rule, _ in RULES)


# every value TRUNCATED_AFTER_WORDS replaces has a digit in the run of letters, digits and separators that ends the
# text: checked in RE2 before Python looks (most texts with such a word end in prose)
_ENDS_WITH_VALUE = r"\p{Nd}[0-9A-Za-z:. _-]*[\s\x{2026}.]*$"


def _ends_after_words(arr: pa.Array) -> np.ndarray:
    """The rows with a word naming a kind of value whose end may hold such a value."""
    ends = pc.fill_null(pc.match_substring_regex(arr, _ENDS_WITH_VALUE), False).to_numpy(zero_copy_only=False)
    words = pc.fill_null(pc.match_substring_regex(arr, _CONTEXT_WORDS), False).to_numpy(zero_copy_only=False)
    return ends & words


def redact_series(s: pd.Series) -> pd.Series:
    """Redact a column of text, as ``redact_text`` does each value. Rows that hold no candidate are skipped by a
    vectorised pre-filter, and each rule runs only on the rows where its look-around-free core (RE2) matches."""
    if s.empty:
        return s
    arr = pa.array(s.astype("string[pyarrow]"), type=pa.large_string(), from_pandas=True)
    mask = pc.fill_null(pc.match_substring_regex(arr, _CANDIDATE_RE2), False).to_numpy(zero_copy_only=False)
    # a row with no candidate but a word naming a kind of value may end with a value cut off after it, which shows
    # no other sign ("cüzdan adresim TRY2VWVHP"): only that rule can change it
    words = ~mask & _ends_after_words(arr)
    if words.any():
        s = s.copy()
        before = arr.filter(pa.array(words)).to_pylist()
        norm = [_ascii(t) for t in before]
        after = [TRUNCATED_AFTER_WORDS.sub(_sub_truncated, n) for n in norm]
        s.loc[s.index[words]] = [t if a == n else a for t, n, a in zip(before, norm, after, strict=True)]
    if not mask.any():
        return s
    originals = arr.filter(pa.array(mask)).to_pylist()
    norms = [_ascii(t) for t in originals]
    texts = list(norms)
    # each rule's core is matched against the texts as the earlier rules left them, as redact_text runs the rule: an
    # earlier replacement can open a match (a number after "[PHONE] " is no longer "a digit and a space" before it),
    # and the texts as read missed it (an operator review's fuzz: 5 of 3,000 texts kept a second phone)
    current, changed = pa.array(texts, type=pa.large_string()), False
    for (rule, repl), core in zip(RULES, CORES, strict=True):
        if core is None:
            new = [rule.sub(repl, t) for t in texts]
            changed = changed or new != texts
            texts = new
            continue
        if changed:
            current, changed = pa.array(texts, type=pa.large_string()), False
        hits = (_ends_after_words(current) if rule is TRUNCATED_AFTER_WORDS
                else pc.match_substring_regex(current, core).to_numpy(zero_copy_only=False))
        for i in hits.nonzero()[0].tolist():
            new = rule.sub(repl, texts[i])
            if new != texts[i]:
                texts[i], changed = new, True
    out = s.copy()
    # a text whose redaction changed nothing keeps its own characters (full-width ones too)
    out.loc[s.index[mask]] = [o if t == n else t for o, n, t in zip(originals, norms, texts, strict=True)]
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


def key_fingerprint(key: bytes) -> str:
    """What a warehouse keeps of its pseudonym key (``audit.pseudonym_key``): an HMAC of a fixed text under the key,
    which tells two keys apart and reveals nothing of a random key (a key a person chose could be guessed from it
    offline, as from any pseudonym it made: docs/PRIVACY.md)."""
    return hmac.new(key, b"csqa pseudonym key fingerprint", hashlib.sha256).hexdigest()[:16]


def pseudonymise_series(s: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256, 20 hex chars, prefix 'c_'): stable for a key, not reversible without it."""
    if s.empty:
        return s
    uniques = pd.unique(s.dropna())
    mapping = {
        v: "c_" + hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:20] for v in uniques
    }
    return s.map(mapping).astype(s.dtype)
