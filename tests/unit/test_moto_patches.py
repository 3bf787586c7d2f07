"""The canary for the local stack's moto patches: a moto upgrade that moves what they
patch fails here, loudly, instead of silently switching a patch off."""

from __future__ import annotations

import threading

import pytest

from psa_billing_dev.local import moto_patches


def test_moto_still_has_what_the_local_patches_patch() -> None:
    moto_patches.check_internals()


def test_the_canary_names_what_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    monkeypatch.delattr(DynamoDBBackend, "transact_write_items")
    with pytest.raises(moto_patches.MotoInternalsChangedError, match="transact_write_items"):
        moto_patches.check_internals()


def test_the_canary_refuses_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(moto_patches.MotoInternalsChangedError, match=r"5\.2\.5.*9\.9\.9"):
        moto_patches.check_internals()


def test_the_write_lock_is_reentrant_so_a_patched_write_may_call_another() -> None:
    lock = moto_patches._WRITE_LOCK
    done = threading.Event()

    def nested() -> None:
        with lock, lock:
            done.set()

    t = threading.Thread(target=nested)
    t.start()
    t.join(2)
    assert done.is_set()
