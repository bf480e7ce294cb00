"""Data quality: recent loads, quarantined rows by check and column, freshness."""

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import footer, page_start
from csqa.dashboard.i18n import t, value_label

L, _ = page_start("data_quality", filters=False)
info = data.last_load()
last = pd.Timestamp(info["last_good"]) if pd.notna(info["last_good"]) else None
if last is None or pd.Timestamp(dt.datetime.now(dt.UTC)) - last > pd.Timedelta(days=1):
    st.warning(f"{t('stale', L)} {t('fresh', L)}: {last.strftime('%Y-%m-%d %H:%M UTC') if last is not None else '–'}")
else:
    st.success(f"{t('fresh', L)}: {last.strftime('%Y-%m-%d %H:%M UTC')}")

loads = data.recent_loads()
c = st.columns(4)
c[0].metric(t("rows_read", L), f"{int(loads.rows_read.sum()):,}")
c[1].metric(t("rows_loaded", L), f"{int(loads.rows_loaded.sum()):,}")
c[2].metric(t("rows_quarantined", L), f"{int(loads.rows_quarantined.sum()):,}")
c[3].metric(t("rows_duplicate", L), f"{int(loads.rows_duplicate.sum()):,}")
st.subheader(t("loads", L))
# the file's name (its folder is the inbox's or the archive's: audit.load_batches keeps the whole path), and a dash
# where a load had no error or note, as in the other tables
show = loads.assign(
    source_file=loads.source_file.map(lambda p: Path(p).name if isinstance(p, str) else "–"),
    status=[value_label("load", v, L) for v in loads.status],
    entity=[value_label("entity", v, L) if isinstance(v, str) else "–" for v in loads.entity],
    **{c: loads[c].astype("object").where(loads[c].notna(), "–") for c in ("error", "notes")},
)
st.dataframe(show, hide_index=True, key="dq_loads",
             column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in show.columns})
q = data.quarantine_by_check()
if len(q):
    q = q.assign(entity=[value_label("entity", v, L) for v in q.entity])
    st.plotly_chart(charts.quarantine_bars(q, t("rejects", L), L), key="dq_rejects")
    # what failed, not only where: the values that came instead (redacted as stored)
    st.dataframe(q[["entity", "column_name", "check_name", "rows", "examples"]], hide_index=True, key="dq_checks",
                 column_config={k: st.column_config.Column(t(f"col_{k}", L))
                                for k in ("entity", "column_name", "check_name", "rows", "examples")})
footer(L)
