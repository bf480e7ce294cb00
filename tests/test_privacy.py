"""Redaction of personal data, and proof that none reaches the warehouse."""

import re

import pandas as pd
import pytest

from csqa.pipeline.ingest.load import dry_run, load
from csqa.pipeline.ingest.privacy import (
    iban_check_digits,
    iban_ok,
    luhn_ok,
    redact_series,
    redact_text,
    valid_cn_id,
    valid_ipv6,
    valid_national_id,
)
from tests.conftest import INTERACTION_HEADER, interaction_row, query, write

PII = [
    ("我的邮箱是 zhang.san@qq.com", "[EMAIL]"),
    ("contact me: john.doe+exchange@gmail.co.uk", "[EMAIL]"),
    ("手机13812345678请回电", "[PHONE]"),
    ("电话 +86 138 1234 5678", "[PHONE]"),
    ("call +44 20 7946 0958 after 6", "[PHONE]"),
    ("身份证11010519491231002X", "[CN_ID]"),
    ("card 4111 1111 1111 1111 charged twice", "[CARD]"),
    ("卡号6222021234567890128", "[CARD]"),
    ("send to 0x52908400098527886E0F7030069857D2E4169EE7", "[WALLET]"),
    ("btc 1BoatSLRy2FjS3a7M8Hq7X1j5hTqF7t5P2", "[WALLET]"),
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq is mine", "[WALLET]"),
    ("TRC20 TJRabPrwbZy45sbavfcjinPJC18kjpRTv8", "[WALLET]"),
    ("login from 203.0.113.45 at night", "[IP]"),
    ("登录IP:2001:db8:85a3::8a2e:370:7334。", "[IP]"),
    ("new device fe80::1ff:fe23:4567:890a, was it me?", "[IP]"),
    ("请退款到 IBAN DE89 3704 0044 0532 0130 00 谢谢", "[IBAN]"),
    ("iban gb82west12345698765432 please", "[IBAN]"),
    ("香港身份证 A123456(3)", "[NATIONAL_ID]"),
    ("身分證字號A123456789", "[NATIONAL_ID]"),
    ("NRIC S1234567D for KYC", "[NATIONAL_ID]"),
    ("my SSN is 219-09-9999", "[NATIONAL_ID]"),
    # formats a held-out set (written without seeing the rules) found missing, 2026-11-26
    ("Withdraw to bc1pqyngl46gg4vlqkxr25tv3jp8arf5xzme5qdm3sd8qfempe95hz3suxleka failed", "[WALLET]"),
    ("HKID K536559\uff087\uff09\uff0cKYC 未通過", "[NATIONAL_ID]"),
    ("Número HKID: A374811 (4)", "[NATIONAL_ID]"),
    ("证件号230103 19750121 0698。", "[CN_ID]"),
    ("E-mail cadastrado: zhang.wei\uff20qq.com", "[EMAIL]"),
    # and a second held-out set, 2026-11-26
    ("证件号码：\uff14\uff12\uff10\uff11\uff11\uff11\uff11\uff19\uff17\uff12\uff11\uff11\uff11\uff18"
     "\uff11\uff12\uff17\uff13", "[CN_ID]"),                    # typed full-width
    ("手机号：\uff11\uff15\uff18\uff11\uff15\uff19\uff16\uff14\uff16\uff16\uff19", "[PHONE]"),
    ("card:5304  5644  1906  7472", "[CARD]"),                      # double spaces, copied from a PDF
    # phones without a country code: by their national shape, or by the words before them (2026-11-26)
    ("call me at (415) 555-0132 please", "[PHONE]"),
    ("UK office 020 7946 0958, mobile 07700 900123", "[PHONE]"),
    ("090-1234-5678 に電話してください", "[PHONE]"),
    ("출금이 안돼요 연락주세요 01092705226", "[PHONE]"),
    ("appelez-moi au 04.63.68.38.38 svp", "[PHONE]"),
    ("Handy 0160/9902199", "[PHONE]"),
    ("Att, João (71) 9 4894-8712", "[PHONE]"),
    ("WhatsApp: 9123 4567", "[PHONE]"),
    ("teléfono 612 345 678", "[PHONE]"),
    ("перезвоните мне пожалуйста 89314604135", "[PHONE]"),
    # e-mail addresses spelled out to get past filters
    ("john.doe [at] gmail [dot] com", "[EMAIL]"),
    ("write to li at qq.com", "[EMAIL]"),
    ("联系邮箱 budi.s@163点com。", "[EMAIL]"),
    ("meu e-mail é anna arroba qq ponto com", "[EMAIL]"),
    ("mail: chen.xiaoming\uff20yahoo\uff0eco\uff0ejp", "[EMAIL]"),
    # from a fourth blind set
    ("marco.rossi chiocciola virgilio punto it", "[EMAIL]"),
    ("seojun0312골뱅이kakao닷com", "[EMAIL]"),
    ("ahmet.yilmaz et gmail nokta com", "[EMAIL]"),
    ("liuyang.sh\uff08at\uff09foxmail 点 com", "[EMAIL]"),
    ("Il mio cellulare è 3804611355", "[PHONE]"),
    ("電話：\uff10\uff17\uff10\uff0d\uff19\uff19\uff13\uff18\uff0d\uff15\uff19\uff18\uff16", "[PHONE]"),  # full-width
    ("اتصل على الرقم \u0660\u0665\u0660\u0665\u0665\u0667\u0665\u0669\u0667\u0662", "[PHONE]"),  # Arabic-Indic
    ("llámenme al 33 0939 5168", "[PHONE]"),
    ("联系电话18333978491", "[PHONE]"),                # a mainland mobile, not 1 + a toll-free 833 number
    ("call me on 18006743678", "[PHONE]"),
    ("급해요 010.8347.9099", "[PHONE]"),
    # cut off where an export cut the subject or preview (a new user's review, 2026-11-28)
    ("Withdrawal issue, my email is alice.wong2@g", "[EMAIL]"),
    ("please reach me at bob_182@exchange-user…", "[EMAIL]"),
    ("my email is zhang.san1738 [at] naver [do", "[EMAIL]"),
    ("charged twice on card 4111 1111 1111", "[CARD]"),
    ("refund to card 5500-0000-0000-000...", "[CARD]"),
    ("send to bc1qar0srrr7xfkvy5l64", "[WALLET]"),
    ("deposit to 0x5290840007ab31c8d2", "[WALLET]"),
    ("我的提币地址是TfzP99du1zXVXpX9cZHA4SB3N", "[WALLET]"),
    ("身份证 430104 19600827", "[CN_ID]"),
    ("Can I use app to reset PIN attempts? my email is alice.wong2", "[EMAIL]"),  # cut before the @
    ("邮箱：li_si2840", "[EMAIL]"),
    ("send to 0x529084000", "[WALLET]"),
    # cut off after a word naming the kind (the shapes alone say too little)
    ("实名认证失败，身份证号21010219760313", "[CN_ID]"),
    ("KYC stuck, my ID number is 6101131976050...", "[CN_ID]"),
    ("Hallo, Kartenzahlung abgelehnt, Karte 238668191557", "[CARD]"),
    ("Bonifico non accreditato, IBAN IT91 Y050 3455 7096", "[IBAN]"),
    ("Login alert: new device, IP 212.129.163.", "[IP]"),
    ("Merhaba, Çekim beklemede, cüzdan adresim TRY2VWVHP", "[WALLET]"),
    ("Добрый день, моя почта dmitry.smirno…", "[EMAIL]"),
]

LOOK_ALIKES = [
    "order 202611250000123456 is pending",       # 18 digits, not a valid ID or card
    "I deposited 1,250.50 USDT at 2026-11-24 10:00",
    "tx 0x" + "ab" * 32 + " not confirmed",       # a transaction hash, not an address
    "version 1.2.3.4.5 of the app",
    "UID 12345678 and 2FA code 123456",
    "maintenance 02:00:00 to 04:30:00 UTC",          # times, not IPv6
    "crash in std::vector::at, build 2026:11",
    "ref GB82 WEST 1234 5698 7654 33 rejected",       # an IBAN shape failing mod 97
    "voucher A123456(4) and A123456788",             # HK and Taiwan shapes failing their check
    "ticket 000-12-3456 and 666-01-2345",            # not SSNs (area 000 and 666 are never issued)
    "调用 a::b() 报错, dead::beef",                     # code, not IPv6
    "timestamp_ms=1779303535221",                     # passes Luhn, but no card number starts with 1
    "订单号 1145633054453407409",
    "desktop client version 4.3.29.39 crashes; firmware 2.1.0.3; Chrome/120.0.0.0; 版本号：4.3.29.39",
    "全角的订单号\uff11\uff12\uff13\uff14\uff15\uff16没有个人信息",    # full-width, nothing personal: unchanged
    "v6.18.4 / 02/03/2026 00:57:32 / OTP 259956 rejected / error 23-7977",   # dates and codes, not phones
    "batch sizes 100 200 500 1000 all failed",        # one of a list of numbers is no phone
    "客服热线 400-820-8820 转 2, or call 1-800-555-0199",  # a business's hotline is nobody's personal data
    "Sendungsnummer 00340510665170419436",             # 20 digits after 00: longer than any phone number
    "I logged in at binance.com; it was pending at this point. dot dot dot",  # prose, not a spelled address
    "réf. dossier 00 20 24 65 10 en attente",         # "00" starts no national number
    "Ordine n. 864 194 5687 spedito; Référence du virement : 698 895 4374",  # 3-3-4 with spaces: references
    "số tiền 4 003 113 443 ₫ chưa về",                # an amount, not 00 + a country code
    "UID numaram 206904683",                           # "my number" of an account, not a phone
    "toll-free +1 (800) 555-0131",                     # a business's number
    "logo@2x.png and icon@3x.svg missing",             # file names
    # at the end of a text, where a cut-off value is looked for
    "tx 0x" + "ab" * 32,
    "thanks @AppleSupport",
    "Ref 2026 1128 1234",                             # groups of four, but no issuer starts with 20
    "ref GB82 WEST 1234 56",                          # an IBAN's shape cut off: left (references end texts too)
    "meet me @ the cafe",
    "see logo@2x.png",
    "TransferWiseVerification2024",
    "the email is wrong",
    "mail is slow.",
    "I changed my email yesterday",
    "Windows says error 0x80070005",                  # an error code's 8 hex digits, not a wallet's start
    "I paid 4000 1000 2000",                          # amounts in a card's groups, no word naming a card
    "limits are 5000 5000 5000",
    "Hi, TXID 0x6611ea78935d4aeef15c6ba9a5a",          # a transaction hash cut off, not a wallet's start
    "my card was declined at 10:30",
]


@pytest.mark.parametrize(("text", "placeholder"), PII)
def test_personal_data_is_replaced_by_a_typed_placeholder(text, placeholder):
    out = redact_text(text)
    assert placeholder in out
    digits = re.findall(r"\d{7,}", out)
    assert not digits, out


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_left_alone(text):
    assert redact_text(text) == text


def test_checksums():
    assert valid_cn_id("11010519491231002X")
    assert not valid_cn_id("110105194912310021")  # wrong check digit
    assert not valid_cn_id("110105194913310028")  # month 13
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and iban_ok("ch9300762011623852957")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33") and not iban_ok("GB82WEST1234")
    assert iban_check_digits("GB", "WEST12345698765432") == "82"  # the published example, GB82 WEST …
    for v in ("A123456(3)", "AB9876543", "A123456789", "S1234567D", "T1234567J", "F1234567N"):
        assert valid_national_id(v), v
    for v in ("A123456(4)", "A123456788", "S1234567A", "X1234567D"):
        assert not valid_national_id(v), v
    assert valid_ipv6("2001:db8::1") and valid_ipv6("::ffff:192.0.2.1")
    assert not valid_ipv6("12:30:45") and not valid_ipv6("::") and not valid_ipv6("fe80::")


def test_an_iban_keeps_the_words_after_it():
    assert redact_text("IBAN GB82 WEST 1234 5698 7654 32 from my bank") == "IBAN [IBAN] from my bank"
    assert redact_text("IBAN GB82 WEST 1234 5698 7654 32 SENT") == "IBAN [IBAN] SENT"


def test_series_redaction_keeps_nulls_and_untouched_rows():
    s = pd.Series(["no pii here", None, "mail a@b.com"], dtype="str")
    out = redact_series(s)
    assert out.iloc[0] == "no pii here" and pd.isna(out.iloc[1]) and out.iloc[2] == "mail [EMAIL]"


def test_no_personal_value_reaches_any_text_column(tmp_path, db, config):
    rows = [interaction_row(f"P{i}", message=text, subject=text) for i, (text, _) in enumerate(PII)]
    # a bad row too: quarantine must not keep the raw value either
    rows.append(interaction_row("BAD", channel="fax", message=PII[0][0]))
    write(tmp_path / "interactions.csv", "\n".join([INTERACTION_HEADER, *rows]) + "\n")
    head = "survey_id,interaction_id,sent_at,responded_at,score,comment\n"
    write(tmp_path / "csat.csv", head + f'S1,P1,2026-11-02T10:00:00Z,2026-11-02T11:00:00Z,1,"{PII[2][0]}"\n')
    load([tmp_path / "interactions.csv", tmp_path / "csat.csv"], db, config)
    needles = ["zhang.san@qq.com", "13812345678", "11010519491231002X", "4111 1111 1111 1111",
               "0x52908400098527886E0F7030069857D2E4169EE7", "203.0.113.45", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
               "2001:db8:85a3::8a2e:370:7334", "DE89 3704 0044 0532 0130 00", "A123456(3)", "219-09-9999"]
    cols = query(db, """select table_schema, table_name, column_name from information_schema.columns
                        where data_type = 'VARCHAR' and table_schema in ('raw', 'audit', 'staging', 'marts')""")
    assert len(cols) > 10
    for schema, table, col in cols:
        for needle in needles:
            n = query(db, f'select count(*) from {schema}.{table} where contains("{col}", ?)', [needle])[0][0]
            assert n == 0, (schema, table, col, needle)
    assert query(db, "select count(*) from audit.quarantine")[0][0] == 1


def test_recall_and_false_positives_on_the_corpus():
    from benchmarks.redaction_eval import evaluate

    table, fp_rate, notes = evaluate()
    overall = table[table.type == "all"].recall.iloc[0]
    assert overall >= 0.99, notes[:10]
    assert (table.recall >= 0.97).all(), table
    assert fp_rate <= 0.01, notes[-10:]


def test_the_vectorised_prefilter_misses_nothing():
    from csqa.pipeline.ingest.pii_corpus import corpus, look_alikes

    # and every case above: the load path (redact_series) must redact what redact_text does (its pre-filter once
    # missed the spelled-out e-mails and phone shapes added with these cases)
    texts = [s for s, _, _ in corpus()] + look_alikes() + [t for t, _ in PII] + LOOK_ALIKES + [
        # an earlier replacement opens a later rule's match (an operator review's fuzz, 2026-11-28)
        "please help +86 138 0013 8000 +86 138 0013 80...", "+86 138 0013 8000 4111 1111 1111",
        "Hi, +86 138 0013 8000 110101 1", "账户问题 +86 138 0013 8000 ID 1101011990"]
    fast = redact_series(pd.Series(texts, dtype="str")).tolist()
    assert fast == [redact_text(t) for t in texts]


def test_a_value_cut_off_at_the_end_of_a_text_leaves_no_part_of_it():
    """Exports cut subjects at a fixed length: an address, a wallet cut there fails the whole-value rules, and the
    part kept still identifies the customer. Cut at 40 and 60 characters, no 6+ character start of a corpus
    e-mail or wallet survives (IP addresses and IBANs cut off are left: docs/PRIVACY.md)."""
    from csqa.pipeline.ingest.pii_corpus import corpus

    cut_off = []
    for cut in (40, 60):
        for text, value, kind in corpus():
            i = text.find(value)
            straddles = i >= 0 and i < cut < i + len(value) and len(text[i:cut].strip()) >= 6
            if kind in ("[EMAIL]", "[WALLET]") and straddles:
                cut_off.append((text[:cut], text[i:cut].strip()))
    assert len(cut_off) >= 90
    fast = redact_series(pd.Series([t for t, _ in cut_off], dtype="str")).tolist()
    for (text, start), out in zip(cut_off, fast, strict=True):
        assert start not in redact_text(text) and out == redact_text(text), text


def test_no_corpus_value_is_stored_anywhere(tmp_path, db, config):
    from csqa.pipeline.ingest.pii_corpus import corpus

    items = corpus()
    rows = [interaction_row(f"C{i}", message=s, subject=s[:40]) for i, (s, _, _) in enumerate(items)]
    write(tmp_path / "interactions.csv", "\n".join([INTERACTION_HEADER, *rows]) + "\n")
    head = "survey_id,interaction_id,sent_at,responded_at,score,comment\n"
    surveys = [f'S{i},C{i},2026-11-02T10:00:00Z,2026-11-02T11:00:00Z,3,"{s}"' for i, (s, _, _) in enumerate(items)]
    write(tmp_path / "csat.csv", head + "\n".join(surveys) + "\n")
    msgs = [f'M{i},C{i},customer,2026-11-02T09:00:00Z,true,"{s}"' for i, (s, _, _) in enumerate(items)]
    write(tmp_path / "messages.csv", "message_id,interaction_id,sender_role,sent_at,is_public,text\n"
          + "\n".join(msgs) + "\n")
    load([tmp_path / "interactions.csv", tmp_path / "csat.csv", tmp_path / "messages.csv"], db, config)
    assert query(db, "select count(*) from raw.interactions")[0][0] == len(items)
    cols = query(db, """select table_schema, table_name, column_name from information_schema.columns
                        where data_type = 'VARCHAR' and table_schema in ('raw', 'audit', 'staging', 'marts')""")
    values = sorted({v for _, v, _ in items})
    for schema, table, col in cols:
        found = query(db, f'select count(*) from {schema}.{table}, unnest(?::varchar[]) as v(needle) '
                          f'where contains("{col}", needle)', [values])[0][0]
        assert found == 0, (schema, table, col)


def test_a_broken_record_keeps_no_raw_customer_id_nor_personal_data(tmp_path, db, config):
    good = interaction_row("G1", customer="u-secret-1")
    broken = interaction_row("B1", customer="u-secret-2", message="mail me at zhang.san@qq.com") + ",extra"
    write(tmp_path / "interactions.csv", "\n".join([INTERACTION_HEADER, good, broken]) + "\n")
    load([tmp_path / "interactions.csv"], db, config)
    raw = query(db, "select raw_row from audit.quarantine")[0][0]
    assert "u-secret-2" not in raw and "zhang.san@qq.com" not in raw
    assert "[EMAIL]" in raw and '"c_' in raw  # redacted, and the id replaced by its pseudonym
    stored = query(db, "select customer_id from raw.interactions")[0][0]
    assert stored.startswith("c_") and "u-secret-1" not in stored


def test_personal_data_in_a_shifted_column_is_redacted_in_the_quarantine(tmp_path, db, config):
    """A shifted export puts an e-mail address in `region` and a phone in `priority`: the row fails its checks and
    the quarantine kept both values as read, which the dashboard's data quality page shows (an operator review)."""
    row = interaction_row("S1", region="li.na@example.org", priority="+86 138 0013 8000")
    write(tmp_path / "interactions.csv", "\n".join([INTERACTION_HEADER, row]) + "\n")
    load([tmp_path / "interactions.csv"], db, config)
    got = query(db, "select column_name, failing_value, raw_row from audit.quarantine order by 1")
    assert [(c, v) for c, v, _ in got] == [("priority", "[PHONE]"), ("region", "[EMAIL]")]
    assert all("li.na@" not in raw and "138 0013" not in raw for _, _, raw in got)


def test_random_transaction_hashes_are_never_damaged():
    """Issue 13: digits inside a hex string were taken for a card (0.29% of hashes damaged)."""
    from benchmarks.redaction_eval import damaged_hashes, random_hashes

    hashes = random_hashes(100_000)
    assert damaged_hashes(hashes) == []
    assert redact_series(pd.Series(hashes, dtype="str")).tolist() == hashes
    # the case from the issue, and a card still caught next to a hash
    h = "0xcb1643651711711a31a0dd" + "0" * 42
    assert redact_text(h) == h
    assert redact_text(f"{h} paid with 4111 1111 1111 1111") == f"{h} paid with [CARD]"


def test_a_load_with_another_pseudonym_key_is_refused_and_writes_nothing(tmp_path, db, config, monkeypatch):
    """The warehouse keeps its key's fingerprint (audit.pseudonym_key) from the first load: a load under another
    key (a manual run without the nightly's CSQA_PSEUDONYM_KEY, which made a new key file) would give every
    returning customer a new id. It is refused, nothing is written, and no key file is made for it."""
    from csqa.pipeline.errors import ConfigError
    from csqa.pipeline.ingest.privacy import key_fingerprint, key_path

    rows = [interaction_row("I1", customer="alice@example.com")]
    write(tmp_path / "d1" / "interactions.csv", "\n".join([INTERACTION_HEADER, *rows]) + "\n")
    write(tmp_path / "d2" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I2")]) + "\n")
    load([tmp_path / "d1"], db, config)  # under the conftest's CSQA_PSEUDONYM_KEY
    assert query(db, "select fingerprint from audit.pseudonym_key") == [(key_fingerprint(b"test-key-not-secret"),)]
    monkeypatch.delenv("CSQA_PSEUDONYM_KEY")
    for run in (load, dry_run):  # the dry run says what the load would
        with pytest.raises(ConfigError, match="this run has none"):
            run([tmp_path / "d2"], db, config)
    assert not key_path(db).exists()
    monkeypatch.setenv("CSQA_PSEUDONYM_KEY", "another-key")
    for run in (load, dry_run):
        with pytest.raises(ConfigError, match=r"\(CSQA_PSEUDONYM_KEY\) is not the one"):
            run([tmp_path / "d2"], db, config)
    assert query(db, "select count(*) from audit.load_batches") == [(1,)]
    assert query(db, "select interaction_id from raw.interactions") == [("I1",)]
    monkeypatch.setenv("CSQA_PSEUDONYM_KEY", "test-key-not-secret")  # the warehouse's own key loads
    assert dry_run([tmp_path / "d2"], db, config)["would_load"] == 1
    assert load([tmp_path / "d2"], db, config).count("loaded") == 1


def test_a_warehouse_loaded_under_its_key_file_refuses_another_key(tmp_path, db, config, monkeypatch):
    from csqa.pipeline.errors import ConfigError
    from csqa.pipeline.ingest.privacy import key_path

    monkeypatch.delenv("CSQA_PSEUDONYM_KEY")
    write(tmp_path / "d1" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I1")]) + "\n")
    write(tmp_path / "d2" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I2")]) + "\n")
    load([tmp_path / "d1"], db, config)
    assert key_path(db).is_file()
    monkeypatch.setenv("CSQA_PSEUDONYM_KEY", "not-the-file's-key")
    with pytest.raises(ConfigError, match="is not the one"):
        load([tmp_path / "d2"], db, config)
    monkeypatch.delenv("CSQA_PSEUDONYM_KEY")
    assert load([tmp_path / "d2"], db, config).count("loaded") == 1
