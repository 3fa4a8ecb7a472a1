"""Secrets come only from the environment: no secret-looking literal is
committed anywhere in the repository (code, config, docs, tests)."""

from __future__ import annotations

import re
import subprocess

import pytest

from bizintel_dagster import settings

pytestmark = pytest.mark.reliability

# What a leaked credential looks like in a file. Each pattern is one kind a
# reviewer would reject; they are tested against planted samples below.
SECRET_PATTERNS = {
    "slack webhook": re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"),
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]+@[^\s'\"]+", re.I),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub / Slack token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|xox[abpr]-[A-Za-z0-9-]{10,})\b"),
    "password assigned a literal": re.compile(
        r"""\b\w*(password|passwd|pii_salt|secret|api_key|token)\b["']?\s*[:=]\s*["'][^"'\s$<{][^"']{5,}["']""", re.I),
    "salt exported in a shell line": re.compile(r"BIZINTEL_PII_SALT=[\"']?[A-Za-z0-9]"),
}

# Literals that look like secrets on purpose: the documented local demo salt
# (not a secret by design: set BIZINTEL_PII_SALT for real data) and test-only
# values for servers the tests start on localhost.
ALLOWED = {settings.LOCAL_DEV_PII_SALT, "test-salt-not-a-secret"}
ALLOWED_FILES = {"tests/reliability/test_security.py"}


def find_secrets(text: str) -> list[tuple[str, str]]:
    found = []
    for kind, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            if not any(allowed in match.group(0) for allowed in ALLOWED):
                found.append((kind, match.group(0)))
    return found


@pytest.mark.parametrize("sample", [
    "url: https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx",
    "BIZINTEL_ALERT_WEBHOOK_URL=https://alerts:hunter22@example.com/hook",
    "-----BEGIN RSA PRIVATE KEY-----",
    "aws_key = 'AKIAIOSFODNN7EXAMPLE'",
    'password: "correct-horse-battery"',
    "SMTP_PASSWORD = 'S3cr3t!pass'",
    "export BIZINTEL_PII_SALT=realsalt123",
    "token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'",
])
def test_the_scanner_catches_planted_secrets(sample):
    assert find_secrets(sample), sample


@pytest.mark.parametrize("sample", [
    "password_env: BIZINTEL_SMTP_PASSWORD",
    'password = os.environ.get("BIZINTEL_SMTP_PASSWORD")',
    "url_env: BIZINTEL_ALERT_WEBHOOK_URL",
    "dbt: {{ env_var('BIZINTEL_PII_SALT') }}",
])
def test_the_scanner_leaves_references_to_the_environment_alone(sample):
    assert find_secrets(sample) == []


def test_no_secret_literal_is_committed():
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=settings.REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    leaks = []
    for name in filter(None, files):
        if name in ALLOWED_FILES:
            continue
        path = settings.REPO_ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes()[:2_000_000].decode("utf-8", errors="ignore")
        leaks += [(name, kind, value) for kind, value in find_secrets(text)]
    assert len(files) > 50
    assert leaks == []
