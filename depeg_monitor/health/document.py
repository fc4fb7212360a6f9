"""The application/health+json document (IETF draft-inadarei-api-health-check) of a report.

Two views of one HealthReport. The detailed one, for the operator, has every check keyed
`{componentName}:{measurementName}` (`binance:answerAge`, `USDC:priceAge`, `database:writeAge`),
each entry naming its componentId (the component's name on the health board and in the health
history: `venue:binance`) and componentType, with the error text. The public one, what a
reverse proxy hands to anyone on the internet, has the status, the version and one line per
component that is not passing — its key and status, never an error text (hosts, phone
numbers, a venue's answer).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from depeg_monitor import __version__
from depeg_monitor.health.evaluate import Check, HealthReport, iso

DESCRIPTION = "depeg-monitor: stablecoin prices across venues, alerts when a coin leaves its peg"


@dataclass(frozen=True, slots=True)
class Service:
    """Who answers: the draft's service-level fields."""

    service_id: str  # unique per running instance
    version: str = __version__.split(".")[0]  # the draft's public version: the major one
    release_id: str = __version__
    description: str = DESCRIPTION


def instance_id(port: int) -> str:
    """This instance among all: its host and its health port (one daemon per port)."""
    return f"depeg-monitor@{socket.gethostname()}:{port}"


def key(name: str, check: Check) -> str:
    return f"{check.component or name}:{check.measurement}"


def _by_key(report: HealthReport) -> list[tuple[str, str, Check]]:
    """(draft key, componentId, check), in the order of the keys."""
    return sorted((key(name, check), name, check) for name, check in report.checks.items())


def detailed(report: HealthReport, service: Service) -> dict[str, Any]:
    checks: dict[str, list[dict[str, Any]]] = {}
    for k, name, check in _by_key(report):
        entry = {"componentId": name, "componentType": check.component_type, **check.to_json()}
        # Same key, other component (a venue and a channel both called "kraken"): the draft's
        # array holds one entry per componentId.
        checks.setdefault(k, []).append(entry)
    return {
        "status": report.status,
        "version": service.version,
        "releaseId": service.release_id,
        "serviceId": service.service_id,
        "description": service.description,
        "time": iso(report.ts),
        "checks": checks,
    }


def public(report: HealthReport, service: Service) -> dict[str, Any]:
    notes = [f"{k} {check.status}" for k, _, check in _by_key(report) if check.status != "pass"]
    out: dict[str, Any] = {"status": report.status, "version": service.version}
    if notes:
        out["notes"] = notes
    return out
