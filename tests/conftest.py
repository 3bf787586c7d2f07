"""Shared fixtures. The local stack (moto server with Step Functions execution and the
real handlers in process) is started once per test session, on a free port."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def local_stack() -> Iterator[Any]:
    from psa_billing_dev.local import counting
    from psa_billing_dev.local.stack import start_local_stack

    counting.install()  # before any client exists, so every request is counted
    stack = start_local_stack(port=0)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def repo(local_stack: Any) -> Any:
    from psa_billing import config, runtime

    config.clear_cache()
    runtime.repository.cache_clear()
    runtime.object_store.cache_clear()
    runtime.org_cache.cache_clear()
    assert "AWS_ENDPOINT_URL" not in os.environ  # the stack serves this process in-process
    return runtime.repository()


@pytest.fixture(scope="session")
def request_counter(local_stack: Any) -> Any:
    from psa_billing_dev.local import counting

    return counting.install()


@pytest.fixture
def org_id() -> str:
    """A fresh organisation per test, so tests sharing the stack never see each other."""
    return f"org-{uuid.uuid4().hex[:10]}"
