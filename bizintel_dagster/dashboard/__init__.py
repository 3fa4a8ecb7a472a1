"""`bizintel dashboard`: a Streamlit dashboard over the analysts' copy.

    bizintel dashboard [--port 8501]

Serves on 127.0.0.1 only. Each page view opens the analysts' copy read-only
(``data.open_copy``) and reads every figure from the semantic layer
(``metrics.MetricReader``), so the dashboard never touches the working warehouse,
never blocks a run and shows a newly published copy on the next view. The app is
``app.py`` (pages in ``pages.py``, queries in ``data.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501
# the caption that ends every page view (app.py), with its render time and period
RENDERED = "Page rendered in"


def command(port: int) -> list[str]:
    """The ``streamlit run`` command line (also what the browser test starts)."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
            # no usage statistics sent anywhere, no file watcher restarting the app under an analyst
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--global.developmentMode", "false", "--client.toolbarMode", "minimal"]


def main(args: argparse.Namespace) -> None:
    from bizintel_dagster import settings

    settings.apply_defaults()  # the child reads the same BIZINTEL_* values as this command
    print(f"bizintel dashboard on http://127.0.0.1:{args.port} (analysts' copy {settings.analytics_path()})")
    raise SystemExit(subprocess.call(command(args.port), env=os.environ.copy()))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the live dashboard (Streamlit) on 127.0.0.1 from the analysts' copy")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
