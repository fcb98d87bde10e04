"""Prometheus metrics: the process's own (the default registry, where ingest counts what it
does when it runs in this process) and figures read from the database at scrape time, which
every process agrees on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from psycopg_pool import ConnectionPool

from vigil.api import repo

log = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("vigil_database_up", "1 if the metrics query succeeded")
        try:
            with self.pool.connection(timeout=2.0) as conn:
                row = repo.operator_counts(conn)
        except Exception:
            log.exception("metrics query failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        rate = GaugeMetricFamily(
            "vigil_ingest_readings_per_second", "Readings stored per second over the last minute"
        )
        rate.add_metric([], float(row[0]) / 60.0)
        yield rate
        lag = GaugeMetricFamily(
            "vigil_ingest_lag_seconds", "Mean delay from measurement to storage, last minute"
        )
        lag.add_metric([], float(row[1]))
        yield lag
        for name, doc, value in (
            ("vigil_rejected_messages_stored", "Rejected messages kept with their reason", row[2]),
            ("vigil_alerts_opened", "Alerts opened", row[3]),
        ):
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], float(value))
            yield counter
        for name, doc, value in (
            ("vigil_alerts_unresolved", "Alerts not yet resolved", row[4]),
            ("vigil_webhook_deliveries_dead", "Webhook deliveries given up", row[5]),
            ("vigil_webhook_deliveries_pending", "Webhook deliveries waiting", row[6]),
        ):
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], float(value))
            yield gauge


def registry_for(pool: ConnectionPool[Any]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(pool))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(REGISTRY) + generate_latest(registry)
