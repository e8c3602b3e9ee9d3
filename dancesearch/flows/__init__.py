"""Prefect flows: thin wiring of the library functions into orchestrated, retryable runs."""

import os

# no internet on many installs: Prefect's telemetry would only log errors
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# the ephemeral API takes 10-20 s to start on two busy cores; Prefect's default gives up at 20 s
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
