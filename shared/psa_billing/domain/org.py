"""The MSP (tenant) itself: what its statements are issued under."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    address_lines: tuple[str, ...] = ()
    email: str = ""
