"""Logging for Vigil's processes: one line a record, with the fields passed as ``extra=``.

The standard formatter drops ``extra=`` fields (a delivery id, an error); this one appends them
as ``key=value`` after the message, quoting a value that has spaces or quotes in it:

>>> import logging
>>> record = logging.LogRecord("vigil.alerts", logging.WARNING, __file__, 1, "refused", None, None)
>>> record.delivery_id, record.error = 42, "HTTP 503: try later"
>>> FieldsFormatter("%(levelname)s %(name)s %(message)s").format(record)
'WARNING vigil.alerts refused delivery_id=42 error="HTTP 503: try later"'
"""

from __future__ import annotations

import json
import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# What every LogRecord has of its own (and what formatting adds): the rest came from extra=.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def _shown(value: object) -> str:
    text = str(value)
    if text and not any(c.isspace() or c in "\"'=" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


class FieldsFormatter(logging.Formatter):
    """A :class:`logging.Formatter` that renders the record's ``extra=`` fields on its line
    (before any traceback)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = [
            f"{key}={_shown(value)}"
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        ]
        return " ".join([line, *fields])


def configure(level: int = logging.INFO) -> None:
    """The processes' logging: records at ``level`` and above to stderr, with their fields."""
    handler = logging.StreamHandler()
    handler.setFormatter(FieldsFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
