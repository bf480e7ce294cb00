from pathlib import Path

import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.errors import ConfigError


def _cfg(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_have_the_domain_channels_and_targets():
    c = load_config()
    assert list(c.channels) == ["web_chat", "app_chat", "ticket", "email", "phone",
                                "social_weibo", "social_wechat", "social_twitter"]
    assert c.channels["web_chat"].first_response_minutes <= 5
    assert c.channels["email"].first_response_minutes == 24 * 60
    assert c.schedules[c.channels["web_chat"].schedule].is_always_open
    assert c.channels["ticket"].target("urgent").first_response_minutes == 60
    assert c.channels["ticket"].target("low").first_response_minutes == 240
    assert c.csat.satisfied_threshold == 4


def test_unknown_key_is_refused_with_its_name(tmp_path):
    with pytest.raises(ConfigError, match=r"csat\.satisfied_treshold: unknown key"):
        load_config(_cfg(tmp_path, "[csat]\nsatisfied_treshold = 4\n"))


def test_wrong_type_is_refused_with_its_name(tmp_path):
    with pytest.raises(ConfigError, match=r"csat\.min_sample"):
        load_config(_cfg(tmp_path, "[csat]\nmin_sample = 'thirty'\n"))


def test_unknown_time_zone_and_bad_block(tmp_path):
    text = """[schedules.x]
timezone = "Mars/Olympus"
blocks = [{ days = "mon-fri", start = "9:00", end = "18:00" }]
[channels.c]
label = "C"
schedule = "x"
"""
    with pytest.raises(ConfigError) as e:
        load_config(_cfg(tmp_path, text))
    assert "Mars/Olympus" in str(e.value)
    assert "HH:MM" in str(e.value)


def test_channel_naming_a_missing_schedule(tmp_path):
    text = '[channels.c]\nlabel = "C"\nschedule = "nope"\n'
    with pytest.raises(ConfigError, match=r"channels\.c\.schedule = 'nope' names no schedule"):
        load_config(_cfg(tmp_path, text))


def test_user_channels_replace_defaults_and_other_sections_merge(tmp_path):
    c = load_config(_cfg(tmp_path, '[channels.line]\nlabel = "LINE"\n[csat]\nsatisfied_threshold = 5\n'))
    assert list(c.channels) == ["line"]
    assert c.csat.satisfied_threshold == 5
    assert c.csat.min_sample == 30  # merged, not lost


def test_invalid_toml(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_cfg(tmp_path, "[csat\n"))


def test_holiday_ranges_and_overnight_blocks(tmp_path):
    text = """[schedules.night]
timezone = "Europe/Berlin"
blocks = [{ days = "fri-mon", start = "22:00", end = "06:00" }]
holidays = ["2026-12-24..2026-12-26"]
[channels.c]
label = "C"
schedule = "night"
"""
    c = load_config(_cfg(tmp_path, text))
    s = c.schedules["night"]
    assert s.blocks[0].day_indexes == (0, 4, 5, 6)
    assert s.holiday_ranges[0][1].day == 26
    with pytest.raises(ConfigError, match="ends before it starts"):
        load_config(_cfg(tmp_path, text.replace("2026-12-24..2026-12-26", "2026-12-26..2026-12-24")))
