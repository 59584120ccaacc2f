"""What an unexpected error leaves in messages and logs: one line, personal data masked.

A crash can quote what it was working on (a cell, a file name, an address); the run log,
the terminal, ``runs.log``, Prefect's own logs and the failure webhook show it only with
emails and phone numbers masked (``transforms.privacy.masked``) and cut short.
"""

from __future__ import annotations

import logging

from transforms.display import excerpt
from transforms.privacy import masked


def masked_line(text: str) -> str:
    """``text`` as a message may show it: emails and phone numbers masked, cut short, printable."""
    return excerpt(masked(text))


def error_line(error: BaseException) -> str:
    """An unexpected error in one line: its type and its text, masked and cut short."""
    return masked_line(f"{type(error).__name__}: {error}")


class MaskPersonalData(logging.Filter):
    """Masks emails and phone numbers in each record a handler writes, its traceback included."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = masked(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = masked(record.exc_text)
        if record.stack_info:
            record.stack_info = masked(record.stack_info)
        return True


def mask_every_handler() -> None:
    """``MaskPersonalData`` on every handler of every logger configured now (Prefect's console,
    API and file handlers included), once each."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for handler in {handler for logger in loggers for handler in logger.handlers}:
        if not any(isinstance(f, MaskPersonalData) for f in handler.filters):
            handler.addFilter(MaskPersonalData())
