"""Powertools metrics, counted only when metrics are enabled.

With POWERTOOLS_METRICS_DISABLED (the local stack sets it) Powertools skips the flush
at the end of an invocation but keeps the values, and prints them anyway once 100
have piled up. Not adding them when disabled keeps local output clean.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled


def count(metrics: Metrics, name: str, value: int = 1) -> None:
    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
