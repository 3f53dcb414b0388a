"""Task logs are for the analysts reading them: channelsync's summary of each stage, not library chatter.

Great Expectations logs ~200 INFO lines per task (its registries at import, "Loading 'datasources'",
a temporary docs site per context) and draws tqdm progress bars on stderr, which Airflow's task runner
logs as ERROR lines on a task that succeeded. :func:`quiet_loggers` puts a library's loggers at
WARNING (its warnings and errors still show); :func:`without_progress_bars` turns GX's bars off on one
data context (GX's ``progress_bars`` setting).
"""

from __future__ import annotations

import logging
from typing import Any

# Loggers whose INFO lines say nothing an analyst needs.
LIBRARY_LOGGERS = ("great_expectations",)


def quiet_loggers(*names: str, level: int = logging.WARNING) -> None:
    """Set each named logger, and every child logger that set a lower level of its own, to ``level``.

    Call it before importing the library (its import logs) and again after (modules that call
    ``setLevel`` at import, like GX's ``data_context.types.base``, would otherwise keep INFO).
    """
    prefixes = tuple(f"{name}." for name in names or LIBRARY_LOGGERS)
    for name in names or LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.startswith(prefixes) and logging.NOTSET < logger.level < level:
            logger.setLevel(level)


def without_progress_bars(context: Any) -> Any:
    """A GX data context that draws no progress bars (validations would print them to stderr)."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context
