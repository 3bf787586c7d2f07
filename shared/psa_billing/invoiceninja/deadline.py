"""The overall time allowed for one InvoiceNinja operation (all its pages and retries)."""

from __future__ import annotations

import time
from collections.abc import Callable

from psa_billing.invoiceninja.errors import InvoiceNinjaError, Problem


class Deadline:
    """Seconds left for one whole operation; shared by the threads reading its pages."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return self._end - self._clock()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise InvoiceNinjaError(
                Problem.DEADLINE,
                f"InvoiceNinja did not finish answering within {self.seconds:g} s",
            )
