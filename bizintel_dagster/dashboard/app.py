"""The Streamlit script of `bizintel dashboard` (run by ``streamlit run``; not imported
by the code location).

Each view (every interaction re-runs this script) opens the analysts' copy
read-only, builds one MetricReader over it, renders the chosen page and closes the
connection, so the dashboard holds no lock between views and shows a newly
published copy on the next one. Data reaches the page only through Streamlit's
escaping elements (tables, charts, metrics, text); no HTML is written.
"""

from __future__ import annotations

import time

import streamlit as st

from bizintel_dagster import metrics, settings
from bizintel_dagster.dashboard import RENDERED, data, pages

st.set_page_config(page_title="bizintel dashboard", layout="wide")

PAGES = [
    # title, url path, renderer (in the order of the navigation; the first is the
    # default page and is served at "/", Streamlit ignores its url path)
    ("Executive", "executive", pages.executive),
    ("Data integrity", "data-integrity", pages.data_integrity),
]


def _view(render) -> None:
    path = data.copy_path()
    if not path.exists():
        st.error(f"No analysts' copy at {path}: run `bizintel run` (or `bizintel publish`) first.")
        return
    started = time.monotonic()
    with data.open_copy(path) as con:
        reader = metrics.MetricReader(con)
        filters = pages.sidebar(con, reader, path)
        render(con, reader, filters)
    # the last element of every page: how long this view took (the README's render
    # times), and the marker the browser test waits for
    st.caption(f"{RENDERED} {time.monotonic() - started:.2f} s for {filters.period.label}.",
               help="server-side time of this page view")


navigation = st.navigation([
    st.Page(lambda render=render: _view(render), title=title, url_path=path, default=(i == 0))
    for i, (title, path, render) in enumerate(PAGES)
])
st.sidebar.caption(f"Time zone {settings.timezone()} · currency {settings.get('BIZINTEL_REPORTING_CURRENCY')}")
navigation.run()
