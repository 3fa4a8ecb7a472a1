"""PII hashing runs in dbt through the bizintel plugin: salted SHA-256 of the
trimmed, lower-cased value, the salt taken from the environment at run time."""

import hashlib
import json
import os
import subprocess

import pytest

from bizintel_dagster import settings

SQL = "select {{ pii_hash(\"'  Ann@Example.COM '\") }} as h, {{ pii_hash(\"''\") }} as empty_value"


def _show(salt: str | None, tmp_path):
    env = {**os.environ, "BIZINTEL_WAREHOUSE": str(tmp_path / "pii.duckdb")}
    if salt is None:
        env.pop("BIZINTEL_PII_SALT", None)
        env["BIZINTEL_PII_SALT"] = ""
    else:
        env["BIZINTEL_PII_SALT"] = salt
    return subprocess.run(
        [settings.dbt_executable(), "show", "--inline", SQL, "--output", "json", "--log-format", "json",
         "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target")],
        capture_output=True, text=True, env=env,
    )


def _rows(result):
    for line in result.stdout.splitlines():
        event = json.loads(line)
        preview = event.get("data", {}).get("preview")
        if preview:
            return json.loads(preview)
    raise AssertionError(result.stdout[-2000:])


@pytest.mark.parametrize("salt", ["salt-one", "another salt"])
def test_hash_is_salted_sha256_of_the_normalised_value(tmp_path, salt):
    result = _show(salt, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    [row] = _rows(result)
    assert row["h"] == hashlib.sha256(f"{salt}|ann@example.com".encode()).hexdigest()
    assert row["empty_value"] is None


def test_different_salts_give_different_hashes(tmp_path):
    a = _rows(_show("salt-one", tmp_path))[0]["h"]
    b = _rows(_show("salt-two", tmp_path))[0]["h"]
    assert a != b


def test_without_a_salt_hashing_fails_loudly(tmp_path):
    result = _show(None, tmp_path)
    assert result.returncode != 0
    assert "pii_salt" in result.stdout
