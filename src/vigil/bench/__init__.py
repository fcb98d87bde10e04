"""Instruments that measure the product from outside: they sit above the stages they run.

``vigil bench pipeline`` (:mod:`vigil.bench.pipeline`) measures MQTT publish -> visible alert
through the readings stream against the old in-process path (:mod:`vigil.bench.inprocess`).
"""
