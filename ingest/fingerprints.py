"""A compact set of 64-bit fingerprints: 8 bytes a row instead of ~60 for a Python set of ints, so the
in-batch duplicate check of a million-row file costs ~16 MB, not ~60 MB."""

from __future__ import annotations

from array import array

_EMPTY = 0  # fingerprint 0 is stored as 1 (a 2⁻⁶⁴ chance of merging two rows)


class FingerprintSet:
    def __init__(self, capacity: int = 1 << 16) -> None:
        self._slots = array("Q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, fingerprint: int) -> bool:
        """Add; False when it was already there."""
        fingerprint = fingerprint or 1
        if (self._count + 1) * 2 > len(self._slots):
            self._grow()
        slots, mask = self._slots, self._mask
        index = fingerprint & mask
        while True:
            current = slots[index]
            if current == _EMPTY:
                slots[index] = fingerprint
                self._count += 1
                return True
            if current == fingerprint:
                return False
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self._count = 0
        for fingerprint in old:
            if fingerprint != _EMPTY:
                self.add(fingerprint)
