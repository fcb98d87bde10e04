"""The processes' log lines show the fields passed as ``extra=`` (delivery ids, errors)."""

from __future__ import annotations

import io
import logging

from vigil.core.logs import FORMAT, FieldsFormatter


def _logger(stream: io.StringIO) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(FieldsFormatter(FORMAT))
    log = logging.getLogger(f"vigil.test.logs.{id(stream)}")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return log


def test_extra_fields_reach_the_line() -> None:
    out = io.StringIO()
    _logger(out).warning(
        "webhook destination refused: %s",
        "HTTP 410",
        extra={"delivery_id": 17, "error": "gone for good", "note": "재시도"},
    )
    line = out.getvalue().strip()
    assert " WARNING vigil.test.logs." in line
    assert line.endswith(
        'webhook destination refused: HTTP 410 delivery_id=17 error="gone for good" note=재시도'
    )


def test_a_record_without_fields_is_the_plain_line() -> None:
    out = io.StringIO()
    log = _logger(out)
    log.info("started")
    assert out.getvalue().strip().endswith(f" INFO {log.name} started")


def test_fields_come_before_the_traceback() -> None:
    out = io.StringIO()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        _logger(out).exception("alert worker step failed", extra={"loop": "dispatch"})
    first, *rest = out.getvalue().splitlines()
    assert first.endswith("alert worker step failed loop=dispatch")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: boom"
