"""The deployments' default schedules (light: the command line reads them for its help)."""

SETTLE_S = 30.0  # a file modified more recently than this is still being written
REFRESH_EVERY = "15m"
EVALUATE_CRON = "0 3 * * *"  # nightly, 03:00 UTC
RETRAIN_CRON = "0 4 * * 0"  # Sundays, 04:00 UTC
