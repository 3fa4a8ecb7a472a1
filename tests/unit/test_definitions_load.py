"""Every Dagster process (code server, each run worker, every CLI call) loads the
definitions, so their import cost is paid many times per run: the modelling and
charting libraries load only in the runs that use them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sklearn", "scipy", "statsmodels", "matplotlib")


def test_loading_the_definitions_imports_no_modelling_or_charting_library():
    script = (
        "import sys\n"
        "from bizintel_dagster.definitions import defs\n"
        "defs()\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
