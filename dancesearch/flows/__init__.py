"""Prefect flows: thin wiring of the library functions into orchestrated, retryable runs."""

import os

# no internet on many installs: Prefect's telemetry would only log errors
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
