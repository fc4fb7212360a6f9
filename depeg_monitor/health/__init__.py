"""The monitor watching itself: component reports, the /health endpoint, self-alerts."""
