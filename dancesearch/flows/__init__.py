"""Prefect flows: thin wiring of the library functions into orchestrated, retryable runs."""

import os

# no internet on many installs: Prefect's telemetry would only log errors
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# the ephemeral API takes 10-20 s to start on two busy cores; Prefect's default gives up at 20 s
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def quiet_user_errors() -> None:
    """Drop Prefect's traceback logs of user mistakes (DancesearchError) raised inside a flow.

    The command line prints such an error as one line; Prefect would first log it with a
    20-line traceback. Bugs (any other exception) keep their tracebacks.
    """
    import asyncio
    import logging

    from dancesearch.errors import DancesearchError

    def keep(record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, DancesearchError)

    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(keep)

    def not_shutdown(record: logging.LogRecord) -> bool:
        # the ephemeral API, stopped at exit, cancels its event recorder mid-flush and logs
        # two harmless CancelledError tracebacks per command
        error = record.exc_info[1] if record.exc_info else None
        cause = error.__context__ if error is not None else None
        return not any(isinstance(e, asyncio.CancelledError) for e in (error, cause))

    logging.getLogger("prefect.server.services.task_run_recorder").addFilter(not_shutdown)
