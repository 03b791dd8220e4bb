"""Small helpers for the thin entry points in ``scripts/`` (logging into the rule's log)."""
from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(log_path: str | None, append: bool = False) -> logging.Logger:
    """Send ``logging`` output and uncaught tracebacks to the rule's log file."""
    logger = logging.getLogger("isingflow")
    logger.setLevel(logging.INFO)
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_path, mode="a" if append else "w")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.handlers[:] = [handler]

    def _excepthook(exc_type, exc, tb):
        logger.error("uncaught exception", exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = _excepthook
    return logger
