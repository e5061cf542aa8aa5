"""The alert rules are checked and unit-tested by Prometheus' own promtool, every alert both
firing and not firing, and each one points at a runbook that exists.

promtool ships with Debian's ``prometheus`` package, which ``scripts/services`` installs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orders_cqrs.observability.metrics import FRESHNESS_BUCKETS
from tests.helpers.stores import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*_test.yml"))


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: `scripts/services install prometheus` installs it")
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=300)


def alerts() -> list[dict[str, Any]]:
    """Every alerting rule of the rule files."""
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_rule_files_pass_promtool_check() -> None:
    assert RULE_FILES
    checked = promtool("check", "rules", *RULE_FILES)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_rule_unit_tests_pass() -> None:
    assert TEST_FILES
    tested = promtool("test", "rules", *TEST_FILES)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_unit_tested_both_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested not firing"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


def test_every_alert_says_what_happened_and_links_its_runbook() -> None:
    for rule in alerts():
        name, notes = rule["alert"], rule.get("annotations", {})
        assert notes.get("summary") and notes.get("description"), name
        assert notes.get("runbook_url") == f"docs/runbooks/{name}.md", name
        assert (ROOT / notes["runbook_url"]).is_file(), f"{name}: runbook missing"
        assert rule["labels"]["severity"] in {"page", "ticket"}, name


def test_each_freshness_threshold_is_a_bucket_of_the_histogram() -> None:
    targets = [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("record") == "orders:freshness_slo:objective"
    ]
    assert {t["labels"]["projection"] for t in targets} == {"summary", "search", "analytics"}
    for target in targets:
        assert float(target["labels"]["le"]) in FRESHNESS_BUCKETS, target


def test_compose_prometheus_config_is_valid_and_scrapes_every_long_running_process() -> None:
    config = PROMETHEUS / "prometheus.compose.yml"
    checked = promtool("check", "config", config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    scraped = {
        target.split(":")[0]
        for static in yaml.safe_load(config.read_text())["scrape_configs"][0]["static_configs"]
        for target in static["targets"]
    }
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    processes = {
        name
        for name, service in services.items()
        if service.get("command", [""])[0] == "orders-cqrs" and service["command"][1] != "migrate"
    }
    assert processes == scraped
