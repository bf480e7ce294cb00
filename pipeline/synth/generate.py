"""``csqa generate``: a realistic, deterministic sample of an exchange's support desk.

Vectorised with numpy so 10M interactions take minutes, not hours. What it models:
- volume with daily (peaks in Asian and European afternoons) and weekly seasonality, and two
  incident spikes (withdrawal delays, a KYC backlog) that multiply one topic's contacts;
- channel mix and per-channel response times: chat and social in minutes, phone in seconds of
  queue, tickets in hours, email within about a day; a bot answers part of chat;
- a language mix led by zh-CN and en with a long tail, regions that follow the language;
- exchange topics, first messages in the customer's language, some carrying personal data;
- CSAT that falls with waiting and reopening; surveys answered hours to days later;
- an FAQ catalogue with deliberate gaps (topics with no article, English-only articles).
``dirty_rate`` adds every fault the validation must catch (see ``_make_dirty``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..ingest.privacy import cn_id_check_digit, luhn_check_digit
from .sample_text import (
    AGENT_REPLIES,
    ARTICLES,
    COMMENTS,
    FOLLOW_UPS,
    MESSAGES,
    PII_SUFFIX,
    SUBJECTS,
    TOPICS,
    article_body,
)

CHANNELS = {  # share, median first response (s), log-sd, median resolution after response (s)
    "web_chat": (0.24, 70, 0.9, 900),
    "app_chat": (0.30, 60, 0.9, 800),
    "ticket": (0.14, 2.5 * 3600, 0.8, 20 * 3600),
    "email": (0.09, 7 * 3600, 0.7, 30 * 3600),
    "phone": (0.05, 45, 0.7, 400),
    "social_weibo": (0.06, 6 * 60, 0.9, 3600),
    "social_wechat": (0.07, 5 * 60, 0.9, 3600),
    "social_twitter": (0.05, 9 * 60, 0.9, 4 * 3600),
}
LANGUAGES = {  # share, regions
    "zh-CN": (0.44, ["CN", "CN", "CN", "SG", "MY"]),
    "en": (0.28, ["US", "GB", "SG", "AU", "NG", "IN", "PH", "CA"]),
    "ko": (0.05, ["KR"]), "ru": (0.05, ["RU", "UA", "KZ"]), "vi": (0.04, ["VN"]),
    "tr": (0.03, ["TR"]), "es": (0.03, ["ES", "AR", "MX"]), "ja": (0.02, ["JP"]),
    "pt-BR": (0.02, ["BR"]), "id": (0.02, ["ID"]), "fr": (0.01, ["FR"]), "de": (0.01, ["DE"]),
}
PRIORITIES = (["low", "normal", "high", "urgent"], [0.12, 0.68, 0.15, 0.05])
TEAMS = {"zh-CN": "cn_support", "en": "global_support"}
BOT_CHANNELS = {"web_chat", "app_chat"}
# hour-of-day weights (UTC): Asia's day (01-10 UTC) and Europe/Americas' afternoon
HOUR_WEIGHTS = np.array([4, 6, 8, 9, 9, 9, 8, 8, 8, 8, 7, 7, 7, 7, 7, 6, 5, 4, 3, 3, 3, 3, 3, 3], float)
WEEKDAY_WEIGHTS = np.array([1.1, 1.05, 1.0, 1.0, 1.0, 0.75, 0.7])


def _iso(ts: np.ndarray) -> np.ndarray:
    """datetime64[s] -> 'YYYY-MM-DDTHH:MM:SSZ', NaT -> ''."""
    s = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object)
    s = s + "Z"
    s[np.isnat(ts)] = ""
    return s


def _cn_id(rng: np.random.Generator) -> str:
    area = rng.choice(["110105", "310104", "440305", "510107", "330106"])
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=int(rng.integers(0, 12000)))
    body = f"{area}{birth:%Y%m%d}{int(rng.integers(0, 1000)):03d}"
    return body + cn_id_check_digit(body)


def _card(rng: np.random.Generator) -> str:
    body = "4" + "".join(str(int(d)) for d in rng.integers(0, 10, 14))
    s = body + luhn_check_digit(body)
    return " ".join(s[i:i + 4] for i in range(0, 16, 4))


def _pii(rng: np.random.Generator, kind: int) -> dict:
    b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    wallets = [
        "0x" + "".join(rng.choice(list("0123456789abcdef"), 40)),
        "T" + "".join(rng.choice(list(b58), 33)),
        "1" + "".join(rng.choice(list(b58), 33)),
    ]
    return {
        "email": f"user{int(rng.integers(1000, 99999))}@"
                 f"{rng.choice(['qq.com', 'gmail.com', '163.com', 'outlook.com'])}",
        "phone": f"1{rng.choice([3, 5, 8, 9])}{int(rng.integers(0, 10**9)):09d}" if kind % 2 else
                 f"+44 7{int(rng.integers(100, 999))} {int(rng.integers(100000, 999999))}",
        "cn_id": _cn_id(rng),
        "wallet": wallets[kind % 3],
        "card": _card(rng),
    }


def _pick(rng: np.random.Generator, options: dict[str, float], n: int) -> np.ndarray:
    keys = list(options)
    p = np.array([options[k] for k in keys], float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _timestamps(rng, n: int, days: int, end: dt.date, topics: np.ndarray) -> np.ndarray:
    start = np.datetime64(end - dt.timedelta(days=days - 1), "s")
    day_idx = np.arange(days)
    first_day = np.datetime64(end - dt.timedelta(days=days - 1), "D")
    weekday = (first_day + day_idx).astype("datetime64[D]").view("int64")
    weekday = (weekday + 3) % 7  # 1970-01-01 was a Thursday
    w = WEEKDAY_WEIGHTS[weekday] * (1 + 0.3 * day_idx / days)  # slow growth
    d = rng.choice(days, size=n, p=w / w.sum())
    h = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    secs = rng.integers(0, 3600, size=n)
    return start + (d * 86400 + h * 3600 + secs).astype("timedelta64[s]")


def generate(out: Path, *, n: int = 20_000, days: int = 56, seed: int = 7, dirty_rate: float = 0.0,
             end: str = "2026-11-24", fmt: str = "csv", messages: bool = True) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    end_date = dt.date.fromisoformat(end)
    out.mkdir(parents=True, exist_ok=True)

    # spikes: an incident adds contacts on one topic over two days
    base_topics = _pick(rng, TOPICS, n)
    created = _timestamps(rng, n, days, end_date, base_topics)
    spike_days = [end_date - dt.timedelta(days=int(days * 0.6)), end_date - dt.timedelta(days=int(days * 0.25))]
    spike_topics = ["withdrawal", "kyc"]
    for sd, st in zip(spike_days, spike_topics, strict=True):
        lo = np.datetime64(sd, "s")
        in_window = (created >= lo) & (created < lo + np.timedelta64(2, "D"))
        flip = in_window & (rng.random(n) < 0.5)
        base_topics[flip] = st
    # extra spike volume: move a share of random contacts into the window
    for sd, st in zip(spike_days, spike_topics, strict=True):
        k = int(n * 0.02)
        idx = rng.choice(n, size=k, replace=False)
        created[idx] = np.datetime64(sd, "s") + rng.integers(0, 2 * 86400, size=k).astype("timedelta64[s]")
        base_topics[idx] = st
    order = np.argsort(created, kind="stable")
    created = created[order]
    topic = base_topics[order]

    channel = _pick(rng, {k: v[0] for k, v in CHANNELS.items()}, n)
    language = _pick(rng, {k: v[0] for k, v in LANGUAGES.items()}, n)
    region = np.empty(n, dtype=object)
    for lang, (_, regions) in LANGUAGES.items():
        m = language == lang
        region[m] = np.array(regions, dtype=object)[rng.integers(0, len(regions), m.sum())]
    priority = np.array(PRIORITIES[0], dtype=object)[rng.choice(4, size=n, p=PRIORITIES[1])]
    team = np.array([TEAMS.get(x, "global_support") for x in language], dtype=object)
    team[topic == "kyc"] = "kyc_review"
    team[(priority == "urgent") & (rng.random(n) < 0.5)] = "vip_desk"

    is_bot_channel = np.isin(channel, list(BOT_CHANNELS))
    handled_by_bot = is_bot_channel & (rng.random(n) < 0.28) & ~np.isin(topic, ["kyc", "account_security", "p2p"])

    med = np.array([CHANNELS[c][1] for c in channel], float)
    sd = np.array([CHANNELS[c][2] for c in channel], float)
    res_med = np.array([CHANNELS[c][3] for c in channel], float)
    # incidents slow everyone down
    load = np.ones(n)
    for sdate in spike_days:
        lo = np.datetime64(sdate, "s")
        load[(created >= lo) & (created < lo + np.timedelta64(2, "D"))] = 3.0
    frt = rng.lognormal(np.log(med * load), sd)
    frt = np.where(priority == "urgent", frt * 0.5, frt)
    kyc_extra = np.where(topic == "kyc", rng.lognormal(np.log(20 * 3600), 0.6, n), 0)
    res = frt + rng.lognormal(np.log(res_med), 1.0) + kyc_extra
    first_response = created + frt.astype("timedelta64[s]")
    resolved = created + res.astype("timedelta64[s]")
    first_response[handled_by_bot] = np.datetime64("NaT")
    resolved[handled_by_bot] = created[handled_by_bot] + rng.integers(30, 600, handled_by_bot.sum()).astype(
        "timedelta64[s]")

    now = np.datetime64(end_date + dt.timedelta(days=1), "s")
    status = np.full(n, "closed", dtype=object)
    status[rng.random(n) < 0.3] = "resolved"
    still_open = resolved > now
    first_response[first_response > now] = np.datetime64("NaT")
    pending = still_open & ~np.isnat(first_response)
    status[still_open] = "open"
    status[pending] = "pending"
    resolved[still_open] = np.datetime64("NaT")
    reopen = np.where(rng.random(n) < 0.06, rng.integers(1, 3, n), 0)
    reopen[handled_by_bot] = 0

    agents = np.array([f"a{i:03d}" for i in range(1, 81)], dtype=object)
    agent = agents[rng.integers(0, len(agents), n)]
    agent[handled_by_bot] = None
    agent[np.isnat(first_response) & ~handled_by_bot] = None
    customers = rng.zipf(1.6, n) % 400_000 + rng.integers(0, 3, n) * 400_000
    customer_id = np.array([f"u{x:07d}" for x in customers], dtype=object)

    # the English account-security article, published mid-period, deflects about half of those contacts
    published = np.datetime64(end_date - dt.timedelta(days=days) + dt.timedelta(days=days // 2), "s")
    deflected = (topic == "account_security") & (language == "en") & (created >= published) & (rng.random(n) < 0.5)
    topic[deflected] = "deposit"
    first_message, subject, msg_lang = _first_messages(rng, topic, language, channel)
    # agents tag most human-handled contacts; the emerging topic is rarely tagged
    tagged = (~handled_by_bot) & (rng.random(n) < 0.72)
    tagged &= ~((topic == "staking_rewards") & (rng.random(n) < 0.9))
    topic_tag = np.where(tagged, topic, None)

    updated = np.maximum.reduce([
        created,
        np.where(np.isnat(first_response), created, first_response),
        np.where(np.isnat(resolved), created, resolved),
    ])
    ids = np.array([f"INT-{seed:02d}-{i:08d}" for i in range(1, n + 1)], dtype=object)
    interactions = pd.DataFrame({
        "interaction_id": ids,
        "channel": channel,
        "created_at": _iso(created),
        "first_response_at": _iso(first_response),
        "resolved_at": _iso(resolved),
        "status": status,
        "priority": priority,
        "customer_id": customer_id,
        "agent_id": agent,
        "team": team,
        "language": language,
        "region": region,
        "topic": topic_tag,
        "subject": subject,
        "first_message": first_message,
        "handled_by_bot": np.where(handled_by_bot, "true", "false"),
        "reopen_count": reopen,
        "updated_at": _iso(updated),
    })

    surveys = _surveys(rng, ids, channel, resolved, frt, med, reopen, handled_by_bot, msg_lang, now, seed)
    written = {}
    if dirty_rate > 0:
        interactions = _make_dirty(rng, interactions, dirty_rate)
        surveys = _make_dirty(rng, surveys, dirty_rate, SURVEY_FAULTS, "sent_at")
    written[f"interactions.{fmt}"] = _write(interactions, out / f"interactions.{fmt}", fmt)
    written[f"csat_surveys.{fmt}"] = _write(surveys, out / f"csat_surveys.{fmt}", fmt)
    if messages:
        msgs = _messages(rng, ids, created, first_response, resolved, handled_by_bot, first_message,
                         msg_lang, agent, now, seed)
        if dirty_rate > 0:
            msgs = _make_dirty(rng, msgs, dirty_rate, MESSAGE_FAULTS, None)
        written[f"messages.{fmt}"] = _write(msgs, out / f"messages.{fmt}", fmt)
    written[f"faq_articles.{fmt}"] = _write(_articles(end_date, days), out / f"faq_articles.{fmt}", fmt)
    return written


def _first_messages(rng, topic, language, channel):
    n = len(topic)
    msg_lang = np.where(np.isin(language, ["zh-CN", "en"]), language, "en").astype(object)
    first = np.empty(n, dtype=object)
    for t, by_lang in MESSAGES.items():
        for lang, options in by_lang.items():
            m = (topic == t) & (language == lang)
            if lang not in ("zh-CN", "en"):
                m &= rng.random(n) < 0.6  # the rest of that language write in English
                msg_lang[m] = lang
            if m.any():
                first[m] = np.array(options, dtype=object)[rng.integers(0, len(options), m.sum())]
        for lang in ("zh-CN", "en"):
            m = (topic == t) & (msg_lang == lang) & np.array([x is None for x in first])
            if m.any():
                opts = by_lang[lang]
                first[m] = np.array(opts, dtype=object)[rng.integers(0, len(opts), m.sum())]
    has_pii = rng.random(n) < 0.08
    for i in np.flatnonzero(has_pii):
        lang = "zh-CN" if msg_lang[i] == "zh-CN" else "en"
        kind = int(rng.integers(0, len(PII_SUFFIX[lang])))
        sep = "," if lang == "zh-CN" else ", "
        first[i] = first[i].rstrip("。.?") + sep + PII_SUFFIX[lang][kind].format(**_pii(rng, i))
    subject = np.array(
        [SUBJECTS["zh-CN" if ml == "zh-CN" else "en"][t] for t, ml in zip(topic, msg_lang, strict=True)],
        dtype=object,
    )
    no_subject = ~np.isin(channel, ["ticket", "email"])
    subject[no_subject] = None
    return first, subject, msg_lang


def _surveys(rng, ids, channel, resolved, frt, med, reopen, bot, msg_lang, now, seed):
    sent_mask = ~np.isnat(resolved) & (rng.random(len(ids)) < 0.65)
    idx = np.flatnonzero(sent_mask)
    sent = resolved[idx] + rng.integers(60, 1800, len(idx)).astype("timedelta64[s]")
    answered = rng.random(len(idx)) < np.where(bot[idx], 0.15, 0.32)
    delay = rng.lognormal(np.log(6 * 3600), 1.4, len(idx)).astype("timedelta64[s]")
    responded = np.where(answered, sent + delay, np.datetime64("NaT"))
    responded[responded > now] = np.datetime64("NaT")
    answered = ~np.isnat(responded)
    wait_ratio = frt[idx] / med[idx]
    quality = 4.4 - 0.55 * np.log1p(np.maximum(wait_ratio - 1, 0)) - 0.8 * reopen[idx] - 0.4 * bot[idx]
    score = np.clip(np.rint(quality + rng.normal(0, 0.9, len(idx))), 1, 5).astype(int)
    score_s = np.where(answered, score.astype(str), "")
    comment = np.full(len(idx), None, dtype=object)
    has_comment = answered & (rng.random(len(idx)) < 0.3)
    for i in np.flatnonzero(has_comment):
        lang = "zh-CN" if msg_lang[idx[i]] == "zh-CN" else "en"
        pool = COMMENTS[lang]["low" if score[i] <= 3 else "high"]
        comment[i] = pool[int(rng.integers(0, len(pool)))]
    return pd.DataFrame({
        "survey_id": np.array([f"SV-{seed:02d}-{i:08d}" for i in range(1, len(idx) + 1)], dtype=object),
        "interaction_id": ids[idx],
        "sent_at": _iso(sent),
        "responded_at": _iso(responded),
        "score": score_s,
        "comment": comment,
    })


def _messages(rng, ids, created, first_response, resolved, bot, first_message, msg_lang, agent, now, seed):
    n = len(ids)
    lang2 = np.where(msg_lang == "zh-CN", "zh-CN", "en")
    parts = []

    def add(mask, role, at, text, public=True):
        i = np.flatnonzero(mask & ~np.isnat(at))
        parts.append(pd.DataFrame({"_i": i, "sender_role": role, "sent_at": at[i], "is_public": public,
                                   "text": text[i] if isinstance(text, np.ndarray) else text}))

    def pick(pool: dict) -> np.ndarray:
        out = np.empty(n, dtype=object)
        for lang in ("zh-CN", "en"):
            m = lang2 == lang
            out[m] = np.array(pool[lang], dtype=object)[rng.integers(0, len(pool[lang]), m.sum())]
        return out

    everyone = np.ones(n, bool)
    add(everyone, "customer", created, first_message)
    bot_at = created + rng.integers(2, 20, n).astype("timedelta64[s]")
    add(bot | (rng.random(n) < 0.3), "bot", bot_at, "[auto] " + pick(AGENT_REPLIES).astype(str))
    add(~bot, "agent", first_response, pick(AGENT_REPLIES))
    follow = ~bot & (rng.random(n) < 0.45) & ~np.isnat(first_response)
    gap = rng.lognormal(np.log(300), 1.0, n).astype("timedelta64[s]")
    cust2 = first_response + gap
    cust2[cust2 > now] = np.datetime64("NaT")
    add(follow, "customer", cust2, pick(FOLLOW_UPS))
    reply2 = cust2 + rng.lognormal(np.log(240), 1.0, n).astype("timedelta64[s]")
    reply2 = np.where(~np.isnat(resolved) & (reply2 > resolved), resolved, reply2)
    reply2[reply2 > now] = np.datetime64("NaT")
    add(follow, "agent", reply2, pick(AGENT_REPLIES))
    note = ~bot & (rng.random(n) < 0.15) & ~np.isnat(first_response)
    add(note, "agent", first_response - np.timedelta64(30, "s"), "internal: checked the account", public=False)
    m = pd.concat(parts, ignore_index=True)
    m["sent_at"] = m["sent_at"].to_numpy().astype("datetime64[s]")
    m = m.sort_values(["_i", "sent_at"], kind="stable").reset_index(drop=True)
    m.loc[m.sent_at < created[m._i.to_numpy()], "sent_at"] = created[m._i.to_numpy()][
        (m.sent_at < created[m._i.to_numpy()]).to_numpy()]
    m.insert(0, "interaction_id", ids[m._i.to_numpy()])
    m.insert(0, "message_id", [f"MSG-{seed:02d}-{k:09d}" for k in range(1, len(m) + 1)])  # unique across seeds
    m["sent_at"] = _iso(m["sent_at"].to_numpy())
    m["is_public"] = np.where(m["is_public"], "true", "false")
    return m.drop(columns="_i")


def _articles(end_date: dt.date, days: int) -> pd.DataFrame:
    rows = []
    start = end_date - dt.timedelta(days=days)
    k = 0
    for topic, by_lang in ARTICLES.items():
        for lang, (title, body) in by_lang.items():
            k += 1
            # one article is published mid-period, so its before/after can be measured
            pub = start - dt.timedelta(days=200) if topic != "account_security" or lang != "en" else \
                start + dt.timedelta(days=days // 2)
            ts = f"{pub.isoformat()}T02:00:00Z"
            rows.append((f"FAQ-{k:03d}", topic, lang, title, article_body(topic, lang, body), "published", ts, ts))
    rows.append((f"FAQ-{k + 1:03d}", "p2p", "zh-CN", "P2P申诉流程(草稿)", "草稿", "draft", "",
                 f"{end_date.isoformat()}T02:00:00Z"))
    return pd.DataFrame(rows, columns=["article_id", "topic", "language", "title", "body", "status",
                                       "published_at", "updated_at"])


SURVEY_FAULTS = [
    ("score", lambda v: "7"),
    ("score", lambda v: "good"),
    ("responded_at", lambda v: "2000-01-01T00:00:00Z"),  # answered before it was sent
    ("sent_at", lambda v: ""),
    ("survey_id", lambda v: ""),
]
MESSAGE_FAULTS = [
    ("sender_role", lambda v: "robot"),
    ("is_public", lambda v: "sometimes"),
    ("sent_at", lambda v: v.replace("T", " ").rstrip("Z")),  # no offset
    ("message_id", lambda v: ""),
]


def _make_dirty(rng, df: pd.DataFrame, rate: float, faults=None, resend_col: str | None = "created_at"):
    """Faults the validation must catch, one per picked row, in equal shares. Also re-sends some
    rows with an older version (duplicates the upsert must resolve, not faults)."""
    df = df.astype(object)
    n = len(df)
    if n == 0:
        return df
    k = max(int(n * rate), 12)
    idx = rng.choice(n, size=min(k, n), replace=False)
    faults = faults or [
        ("channel", lambda v: "fax"),
        ("created_at", lambda v: ""),
        ("created_at", lambda v: v.replace("T", " ").rstrip("Z")),  # no offset
        ("created_at", lambda v: "yesterday"),
        ("first_response_at", lambda v: "2000-01-01T00:00:00Z"),  # before creation
        ("language", lambda v: "Chinese"),
        ("status", lambda v: "solved"),
        ("handled_by_bot", lambda v: "maybe"),
        ("reopen_count", lambda v: "-1"),
        ("priority", lambda v: "P0"),
        ("interaction_id", lambda v: ""),
        ("region", lambda v: "China"),
    ]
    for j, i in enumerate(idx):
        col, f = faults[j % len(faults)]
        j_col = df.columns.get_loc(col)
        df.iloc[i, j_col] = f(str(df.iloc[i, j_col]))
    dup = df.iloc[rng.choice(n, size=max(int(n * rate / 2), 1), replace=False)].copy()
    if "updated_at" in dup.columns and resend_col:
        dup["updated_at"] = dup[resend_col]
    elif "responded_at" in dup.columns:  # a survey re-sent before its answer came in
        dup["responded_at"] = ""
        dup["score"] = ""
    return pd.concat([df, dup], ignore_index=True)


def _write(df: pd.DataFrame, path: Path, fmt: str) -> int:
    if fmt == "csv":
        df.to_csv(path, index=False, lineterminator="\n")
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for rec in df.to_dict(orient="records"):
                fh.write(json.dumps({k: (None if v == "" or v is None or v != v else v) for k, v in rec.items()},
                                    ensure_ascii=False,
                                    default=str) + "\n")
    else:
        df = df.replace({"": None})
        for c in df.columns:  # a dirty column mixes types (an int column holding "-1"): write it as text
            if df[c].dtype == object and len({type(v) for v in df[c].dropna()}) > 1:
                df[c] = df[c].map(lambda v: None if v is None or v != v else str(v))
        df.to_parquet(path, index=False)
    return len(df)
