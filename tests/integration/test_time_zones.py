"""The pipeline in business time zones west and east of UTC, with a DST change
inside the window: a partition is the zone's local day, so the generator's
files, the raw loader, the quality rules and the KPIs must agree on it.

Each zone runs in its own process because the daily partitions (and their time
zone) are fixed when the definitions are imported."""

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

from bizintel_dagster.demo import generator
from tests.integration.helpers import data_dir, query

pytestmark = pytest.mark.integration

# zone, first day, why these days. West and east of UTC, each across a DST
# change (one a 25-hour day, one a 23-hour day); UTC and Kolkata's half-hour
# offset run the dbt unit tests (tests/unit/test_dbt_unit_tests.py), where the
# zone-dependent expectations are; a whole pipeline per zone costs ~90 s.
ZONES = [
    ("America/New_York", date(2026, 10, 31), "DST ends on 1 November: a 25-hour day"),
    ("Pacific/Auckland", date(2026, 9, 26), "DST starts on 27 September: a 23-hour day"),
]
DAYS = 3

_RUN = r"""
import json, sys
from datetime import date
from bizintel_dagster import runner
first, last = date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2])
definitions, instance = runner.load_definitions(), runner.default_instance()
out = {"jobs": {}, "checks": {}}
for job in ("reference_job", "daily_pipeline_job"):
    window = (first, last) if job == "daily_pipeline_job" else ()
    result = runner.run_job(definitions, job, instance, *window, log_level="WARNING")
    out["jobs"][job] = result.success
    out["checks"].update(runner.check_results(result))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.parametrize("zone, first, why", ZONES, ids=[z for z, _, _ in ZONES])
def test_pipeline_in_business_zone(tmp_path, zone, first, why):
    last = first + timedelta(days=DAYS - 1)
    with data_dir(tmp_path), pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIZINTEL_TIMEZONE", zone)
        summary = generator.generate(tmp_path / "landing", start=first, days=DAYS, app_events=1_500, seed=5)
        done = subprocess.run([sys.executable, "-c", _RUN, first.isoformat(), last.isoformat()],
                              capture_output=True, text=True, env=dict(os.environ), timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        result = json.loads(line.removeprefix("RESULT "))
        assert all(result["jobs"].values()), result["jobs"]
        failed = [name for name, ok in result["checks"].items() if not ok]
        assert not failed, f"{zone} ({why}): failed checks {failed}"
        assert len(result["checks"]) > 20

        days = [d for (d,) in query("select metric_date from kpis.kpi_daily order by 1")]
        assert days == [first + timedelta(days=i) for i in range(DAYS)]
        assert min(dau for (dau,) in query("select dau from kpis.kpi_daily")) > 0
        # Only the records the generator deliberately put on another day are quarantined for it.
        off_day = query("""select count(*) from cleansed.quarantine_records
                           where source = 'app_events' and reason like '%outside the partition day%'""")[0][0]
        assert off_day == summary["defects"]["app_events"]["timestamp_outside_partition"]
        # Every accepted event's local day (in this zone) is its partition.
        misplaced = query(f"""select count(*) from cleansed.cleansed_app_events
                              where cast(timezone('{zone}', occurred_at) as date) <> partition_date""")[0][0]
        assert misplaced == 0
        hours = query("select count(distinct local_hour) from kpis.kpi_hourly_operations")[0][0]
        assert hours == 24
