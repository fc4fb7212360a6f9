"""A real daemon's /health (tests/scrape.py) in the health-check draft's form, by who asks."""

from __future__ import annotations

import json
import socket

from depeg_monitor import __version__

from ..scrape import TOKEN, Scrape


def test_the_operator_sees_every_coin_and_venue_keyed_by_component_and_measurement(
    daemon_scrape: Scrape,
) -> None:
    """From 127.0.0.1 the detailed view has the service fields and, for each configured coin
    and venue, a `name:measurement` check naming its componentId and componentType."""
    s = daemon_scrape
    assert s.health_local.headers["Content-Type"].startswith("application/health+json")
    doc = json.loads(s.health_local.text)
    assert doc["status"] == "pass" and doc["releaseId"] == __version__
    assert doc["serviceId"] == f"depeg-monitor@{socket.gethostname()}:{s.port}"
    for coin in s.settings.coins:
        (entry,) = doc["checks"][f"{coin}:priceAge"]
        assert entry["componentId"] == f"coin:{coin}" and entry["status"] == "pass"
    for venue, v in s.settings.venues.items():
        if v.enabled:
            (entry,) = doc["checks"][f"{venue}:answerAge"]
            assert (entry["componentId"], entry["componentType"]) == (f"venue:{venue}", "component")
            assert entry["observedUnit"] == "s"


def test_through_a_proxy_the_daemon_shows_only_the_public_view(daemon_scrape: Scrape) -> None:
    """What Uptime Robot sees through the reverse proxy: status and version, nothing else."""
    doc = json.loads(daemon_scrape.health_proxied.text)
    assert doc == {"status": "pass", "version": __version__.split(".")[0]}


def test_the_token_opens_the_detailed_view_through_the_proxy(daemon_scrape: Scrape) -> None:
    """With [health] token set, the token's bearer sees the checks through the proxy, and
    the token itself appears in no answer."""
    doc = json.loads(daemon_scrape.health_token.text)
    assert "USDC:priceAge" in doc["checks"]
    pages = (daemon_scrape.health_local, daemon_scrape.health_proxied, daemon_scrape.health_token)
    assert all(TOKEN not in p.text for p in pages)
