"""A seeded corpus of real-looking personal data and look-alikes, in Chinese and English sentences,
to measure redaction (benchmarks/redaction_eval.py, tests/test_privacy.py). Nothing here is real:
numbers are random with valid checksums where the format has one."""

from __future__ import annotations

import datetime as dt
import random
import string

from .privacy import cn_id_check_digit, iban_check_digits, luhn_check_digit, valid_national_id

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
ZH = ["我的{kind}是{v},请尽快处理", "{kind}{v}", "请联系{v}谢谢", "麻烦核实一下:{v}。", "（{v}）这个是我的"]
EN = ["my {kind} is {v}, please check", "contact: {v}", "{v} is mine", "Please verify ({v}) asap.",
      "use {v}."]
KIND_ZH = {"EMAIL": "邮箱", "PHONE": "手机号", "CN_ID": "身份证号", "CARD": "银行卡号", "WALLET": "提币地址",
           "IP": "登录IP", "IBAN": "收款账户IBAN", "NATIONAL_ID": "证件号"}
KIND_EN = {"EMAIL": "email", "PHONE": "phone", "CN_ID": "ID number", "CARD": "card", "WALLET": "address", "IP": "IP",
           "IBAN": "IBAN", "NATIONAL_ID": "ID"}
# country: BBAN shape (a = letter, n = digit, c = either), as the national formats are written
IBAN_SHAPES = {"DE": "n" * 18, "GB": "aaaa" + "n" * 14, "FR": "n" * 10 + "c" * 11 + "nn", "NL": "aaaa" + "n" * 10,
               "CH": "n" * 5 + "c" * 12, "AE": "n" * 19, "ES": "n" * 20, "SA": "nn" + "c" * 18}


def _luhn_complete(prefix: str, length: int, r: random.Random) -> str:
    body = prefix + "".join(r.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def _cn_id(r: random.Random) -> str:
    area = r.choice(["110105", "310104", "440305", "510107", "330106", "420102", "610113"])
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=r.randrange(25000))
    body = f"{area}{birth:%Y%m%d}{r.randrange(1000):03d}"
    return body + cn_id_check_digit(body)


def _iban(r: random.Random) -> str:
    country, shape = r.choice(sorted(IBAN_SHAPES.items()))
    pools = {"a": string.ascii_uppercase, "n": string.digits, "c": string.ascii_uppercase + string.digits}
    bban = "".join(r.choice(pools[k]) for k in shape)
    return f"{country}{iban_check_digits(country, bban)}{bban}"


def _national_id(r: random.Random) -> str:
    """A Hong Kong, Taiwan or Singapore ID with its check character, or a US SSN."""
    kind = r.choice(["hk", "tw", "sg", "ssn"])
    if kind == "ssn":
        return f"{r.choice([r.randrange(1, 666), r.randrange(667, 900)]):03d}-{r.randrange(1, 100):02d}-" \
               f"{r.randrange(1, 10000):04d}"
    while True:  # draw until the check character is right (about one in ten draws)
        if kind == "hk":
            v = "".join(r.choice(string.ascii_uppercase) for _ in range(r.choice([1, 1, 2])))
            v += f"{r.randrange(10**6):06d}" + r.choice("0123456789A")
        elif kind == "tw":
            v = r.choice(string.ascii_uppercase) + r.choice("12") + f"{r.randrange(10**8):08d}"
        else:
            v = r.choice("STFG") + f"{r.randrange(10**7):07d}" + r.choice(string.ascii_uppercase)
        if valid_national_id(v):
            return f"{v[:-1]}({v[-1]})" if kind == "hk" and r.random() < 0.5 else v


def _group(digits: str, sep: str, sizes: list[int]) -> str:
    out, i = [], 0
    for s in sizes:
        out.append(digits[i:i + s])
        i += s
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(out)


def personal_values(r: random.Random) -> dict[str, list[str]]:
    locals_ = ["zhang.san", "li_si", "user", "wang.wu+exchange", "john.doe", "a.b-c"]
    domains = ["qq.com", "163.com", "gmail.com", "outlook.com", "corp.co.uk", "mail.example.io"]
    emails = [f"{r.choice(locals_)}{r.randrange(10000)}@{r.choice(domains)}" for _ in range(60)]
    for _ in range(30):  # spelled out to get past filters
        user, (host, tld) = f"{r.choice(locals_)}{r.randrange(10000)}", r.choice([("gmail", "com"), ("qq", "com"),
                                                                                 ("acme", "io"), ("naver", "com")])
        emails.append(r.choice([f"{user} [at] {host} [dot] {tld}", f"{user}(at){host}(dot){tld}",
                                f"{user} at {host} dot {tld}", f"{user} @ {host} . {tld}", f"{user}艾特{host}点{tld}",
                                f"{user} arroba {host} punto {tld}", f"{user}@{host} dot {tld}"]))
    phones = []
    for _ in range(30):
        m = f"1{r.choice('3456789')}{r.randrange(10**9):09d}"
        phones.append(r.choice([m, f"{m[:3]} {m[3:7]} {m[7:]}", f"{m[:3]}-{m[3:7]}-{m[7:]}", f"+86 {m}",
                                f"+86-{m[:3]}-{m[3:7]}-{m[7:]}", f"0086{m}"]))
    for _ in range(30):
        phones.append(r.choice([f"+44 20 {r.randrange(1000, 9999)} {r.randrange(1000, 9999)}",
                                f"+1 415 {r.randrange(200, 999)} {r.randrange(1000, 9999)}",
                                f"+65 {r.randrange(8000, 9999)} {r.randrange(1000, 9999)}",
                                f"+81 90-{r.randrange(1000, 9999)}-{r.randrange(1000, 9999)}",
                                f"+7 912 {r.randrange(100, 999)} {r.randrange(10, 99)} {r.randrange(10, 99)}"]))
    for _ in range(40):  # national formats, no country code (their shape tells)
        d = lambda n: "".join(r.choice(string.digits) for _ in range(n))  # noqa: E731
        z, area = r.randrange(1, 10), r.choice([212, 305, 312, 415, 617, 646, 702, 713, 206, 416])  # no N00 code
        phones.append(r.choice([f"0{z}{d(1)}-{d(4)}-{d(4)}", f"0{z}{d(2)} {d(4)} {d(3)}", f"0{z}{d(8)}",
                                f"({area}) {d(3)}-{d(4)}", f"{area}-{d(3)}-{d(4)}",
                                f"0{z}" + "".join(f" {d(2)}" for _ in range(4)), f"010-{d(8)}",
                                f"0{r.randrange(150, 180)}/{d(7)}", f"{z}{r.randrange(1, 10)} 9{d(4)}-{d(4)}",
                                f"8 ({r.randrange(900, 999)}) {d(3)}-{d(2)}-{d(2)}"]))
    ids = [_cn_id(r) for _ in range(60)]
    cards = []
    for _ in range(60):
        d = _luhn_complete(r.choice(["4", "51", "55", "62", "622202"]), r.choice([16, 16, 19]), r)
        cards.append(r.choice([d, _group(d, " ", [4, 4, 4, 4]), _group(d, "-", [4, 4, 4, 4])]))
    wallets = []
    for _ in range(15):
        wallets.append("0x" + "".join(r.choice("0123456789abcdefABCDEF") for _ in range(40)))
        wallets.append(r.choice("13") + "".join(r.choice(B58) for _ in range(r.randrange(25, 34))))
        wallets.append("bc1q" + "".join(r.choice(BECH32) for _ in range(38)))
        wallets.append("T" + "".join(r.choice(B58) for _ in range(33)))
    ips = [".".join(str(r.randrange(256)) for _ in range(4)) for _ in range(60)]
    for _ in range(30):  # IPv6: full, compressed, upper case, IPv4-mapped
        groups = [f"{r.randrange(65536):x}" for _ in range(8)]
        ips.append(r.choice([":".join(groups), ":".join(groups[:3]) + "::" + ":".join(groups[6:]),
                             "2001:db8::" + groups[7], "fe80::" + ":".join(groups[4:]).upper(),
                             f"::ffff:{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}"]))
    ibans = []
    for _ in range(40):
        v = _iban(r)
        ibans.append(r.choice([v, " ".join(v[i:i + 4] for i in range(0, len(v), 4)), v.lower()]))
    national = [_national_id(r) for _ in range(60)]
    return {"EMAIL": emails, "PHONE": phones, "CN_ID": ids, "CARD": cards, "WALLET": wallets, "IP": ips,
            "IBAN": ibans, "NATIONAL_ID": national}


def corpus(seed: int = 2026) -> list[tuple[str, str, str]]:
    """(sentence, personal value, placeholder) in Chinese and English."""
    r = random.Random(seed)
    out = []
    for kind, values in personal_values(r).items():
        for v in values:
            for templates, kinds in ((ZH, KIND_ZH), (EN, KIND_EN)):
                out.append((r.choice(templates).format(kind=kinds[kind], v=v), v, f"[{kind}]"))
    return out


def look_alikes(seed: int = 7) -> list[str]:
    """Things that look like personal data and are not: they must survive redaction unchanged."""
    r = random.Random(seed)
    out = []
    for _ in range(60):
        out.append(f"订单号 {r.randrange(10**17, 10**18)} 还没到账")               # 18-digit order number
        out.append(f"order #{r.randrange(10**11, 10**12)} pending")                  # 12-digit order
        out.append(f"amount {r.randrange(1, 99999):,}.{r.randrange(100):02d} USDT")  # amounts
        out.append(f"提币 {r.random() * 10:.8f} BTC 手续费 0.0005")
        out.append("tx 0x" + "".join(r.choice("0123456789abcdef") for _ in range(64)))  # transaction hash
        out.append("txid " + "".join(r.choice("0123456789abcdef") for _ in range(64)))
        out.append(f"UID {r.randrange(10**7, 10**9)}")                               # exchange user id
        out.append(f"2FA code {r.randrange(10**5, 10**6)} expired")
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=r.randrange(500000))
        out.append(f"at {when:%Y-%m-%d %H:%M:%S}")
        out.append(f"app version {r.randrange(1, 9)}.{r.randrange(30)}.{r.randrange(30)}")
    for _ in range(30):  # shapes of the IPv6, IBAN and national-ID rules that are none of them
        out.append(f"开盘时间 {r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d} 之后")
        out.append(r.choice(["error in std::vector<int> at line 3", "ratio 1:2:3 in the pool", "C::D::E scope"]))
        iban = _iban(r)
        out.append(f"ref {iban[:2]}{(int(iban[2:4]) + 1) % 100:02d}{iban[4:]}")        # IBAN shape, wrong mod 97
        v = _national_id(r).replace("(", "").replace(")", "")
        if "-" not in v:
            bad = v[:-1] + next(c for c in "0123456789ABCDEFGHJKLMNPQRSTUVWXZ"
                                if c != v[-1] and not valid_national_id(v[:-1] + c) and c.isdigit() == v[-1].isdigit())
            out.append(f"voucher {bad} used")                                       # ID shape, wrong check
        out.append(f"call ext {r.choice(['000', '666', '912'])}-{r.randrange(10, 99)}-{r.randrange(1000, 9999)}")
    for _ in range(30):  # shapes of the national phone and spelled e-mail rules that are neither
        day = dt.date(2026, 1, 1) + dt.timedelta(days=r.randrange(365))
        out.append(f"{day:%d/%m/%Y} {r.randrange(24):02d}:{r.randrange(60):02d} 提现失败")  # dates, times
        out.append(f"{day:%d-%m-%Y} {r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d} UTC")
        out.append(f"{day:%d.%m.%Y} um {r.randrange(24):02d}.{r.randrange(60):02d} Uhr")
        out.append(f"batch sizes {' '.join(str(r.randrange(100, 999)) for _ in range(4))} all failed")  # a list
        out.append(f"客服热线 400-{r.randrange(100, 999)}-{r.randrange(1000, 9999)}")  # a business's hotline
        out.append(f"ORD-0{r.randrange(10, 99)}-{r.randrange(1000, 9999)}-{r.randrange(1000, 9999)} shipped")
        out.append(r.choice(["I logged in at binance.com yesterday", "it was pending at this point and then",
                             "good at trading, bad at waiting. dot dot dot", "see you at okx.com",
                             "the dot on the chart at noon"]))
    return out
