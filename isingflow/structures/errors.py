"""Errors of the structures stage (a structure cannot be built as asked)."""
from __future__ import annotations


class StructureError(ValueError):
    """A structure cannot be built as asked (unknown material, strain, overlap, ...)."""


class OverlapError(StructureError):
    """Two atoms are closer than the allowed minimum.

    Attributes
    ----------
    pair
        Indices of the two atoms.
    distance_angstrom
        Their distance (Å).
    """

    def __init__(self, message: str, pair: tuple[int, int], distance_angstrom: float):
        super().__init__(message)
        self.pair = pair
        self.distance_angstrom = distance_angstrom


class StrainError(StructureError):
    """A layer would need more strain than allowed (``layer`` is its index, if one layer is to blame)."""

    def __init__(self, message: str, layer: int | None = None):
        super().__init__(message)
        self.layer = layer
