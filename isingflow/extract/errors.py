"""The physics-gate errors of the extraction stage.

A physics gate stops the pipeline when an input makes no physical sense (a metal without a band
at the Fermi level, a magnet without its moment, a spin density that does not integrate to the
DFT code's moment) instead of producing a number from it.
"""
from __future__ import annotations


class PhysicsGateError(RuntimeError):
    """An input makes no physical sense: the pipeline stops instead of producing a number."""
