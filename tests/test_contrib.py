"""contrib/: the Prometheus alert rules and the Grafana dashboard, against what a real daemon
exports (tests/scrape.py) and Prometheus' own promtool."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from .scrape import Scrape, promtool

CONTRIB = Path(__file__).parents[1] / "contrib"
RULES = CONTRIB / "prometheus" / "depeg-monitor.rules.yml"
RULE_TESTS = CONTRIB / "prometheus" / "depeg-monitor.rules.test.yml"
DASHBOARD = CONTRIB / "grafana" / "depeg-monitor.json"
# The daemon's own series and the process/Python ones it exports (`up` is Prometheus' own).
METRIC = re.compile(r"\b(?:depeg|process|python)_[a-z0-9_]+\b")


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_the_alert_rules_pass_promtool_check_rules() -> None:
    """Prometheus would load the rules file as shipped."""
    done = run("check", "rules", RULES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_the_alert_rules_fire_when_they_should() -> None:
    """promtool's unit tests: monitor down, a coin stale (or never priced), a venue down for
    30 minutes (not a blip), a failed delivery and a firing depeg each raise their alert."""
    done = run("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_alert_rules_use_only_series_the_daemon_exports(daemon_scrape: Scrape) -> None:
    """No rule waits on a series name the daemon does not export (it would never fire)."""
    used = set(METRIC.findall(RULES.read_text()))
    assert {"depeg_price_timestamp_seconds", "depeg_venue_up", "depeg_severity"} <= used
    assert used - daemon_scrape.names() == set()


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def queries() -> list[str]:
    doc = dashboard()
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in doc["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_the_dashboard_is_valid_json_with_a_query_in_every_panel() -> None:
    """Grafana can import the file: valid JSON, a title and uid, and every graph has a query."""
    doc = dashboard()
    assert doc["title"] and doc["uid"] and doc["panels"]
    for p in doc["panels"]:
        if p["type"] != "row":
            assert p.get("targets") and all(t["expr"] for t in p["targets"]), p["title"]


def test_the_dashboard_uses_only_series_the_daemon_exports(daemon_scrape: Scrape) -> None:
    """Every name a panel or variable queries is one a running daemon exports, so no panel
    stays empty for a misspelt or renamed metric."""
    exported = daemon_scrape.names()
    for expr in queries():
        used = set(METRIC.findall(expr))
        assert used, expr
        assert used <= exported, (expr, used - exported)


def test_the_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Each panel's query parses as PromQL (checked by promtool as a recording rule, with the
    dashboard's $variables filled in)."""
    exprs = [t for t in queries() if not t.startswith("label_values(")]
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{i}", "expr": re.sub(r"\$\w+", ".*", e)}
                    for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard.rules.json"  # YAML is a superset of JSON
    path.write_text(json.dumps(rules))
    done = run("check", "rules", path)
    assert done.returncode == 0, done.stdout + done.stderr
