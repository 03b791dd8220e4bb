"""The spin density m(r) = n↑ − n↓ of a converged GPAW calculation on its real-space grid.

Loading (all-electron or pseudo density), moments, slabs and column densities; lengths in Å,
moments in µB, densities in µB/Å³ (columns: µB/Å²).  Definitions: ``docs/extraction.md``
(section "Se vacancy").
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from isingflow.extract.errors import PhysicsGateError


@dataclass
class SpinDensity:
    """m(r) = n↑ − n↓ (µB/Å³) on a grid over ``cell``; point (i, j, k) at fractional (i/n1, j/n2, k/n3)."""

    m: np.ndarray
    cell: np.ndarray
    kind: str = "all-electron"
    gpaw_moment_muB: float | None = None
    gpaw_magmoms_muB: np.ndarray | None = None
    positions: np.ndarray | None = None
    symbols: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.m.shape)  # type: ignore[return-value]

    @property
    def dv(self) -> float:
        return float(abs(np.linalg.det(self.cell)) / np.prod(self.m.shape))

    @property
    def dz(self) -> float:
        return float(self.cell[2, 2] / self.m.shape[2])

    @property
    def column_area(self) -> float:
        """Area (Å²) of one grid column in the xy plane."""
        return float(abs(np.linalg.det(self.cell[:2, :2])) / (self.m.shape[0] * self.m.shape[1]))

    def z_coords(self) -> np.ndarray:
        return np.arange(self.m.shape[2]) * self.dz


def load_spin_density(gpw_path: str | os.PathLike, density: str = "all-electron",
                      gridrefinement: int = 1) -> SpinDensity:
    """The spin density of a converged ``.gpw``; :class:`PhysicsGateError` if not spin-polarised."""
    from gpaw import GPAW

    calc = GPAW(str(gpw_path), txt=None)
    nspins = calc.get_number_of_spins()
    if nspins != 2:
        raise PhysicsGateError(f"{gpw_path}: the calculation is not spin-polarised (nspins = {nspins}); "
                               "the vacancy moment needs a spin-polarised ground state (initial moments "
                               "on the Nb neighbours of the vacancy)")
    if density == "all-electron":
        up = calc.get_all_electron_density(spin=0, gridrefinement=gridrefinement)
        down = calc.get_all_electron_density(spin=1, gridrefinement=gridrefinement)
    elif density == "pseudo":
        up = calc.get_pseudo_density(spin=0)
        down = calc.get_pseudo_density(spin=1)
    else:
        raise ValueError(f"density: {density!r} (all-electron or pseudo)")
    atoms = calc.get_atoms()
    return SpinDensity(m=np.asarray(up - down, dtype=float), cell=np.array(atoms.cell), kind=density,
                       gpaw_moment_muB=float(calc.get_magnetic_moment()),
                       gpaw_magmoms_muB=np.asarray(calc.get_magnetic_moments(), dtype=float),
                       positions=atoms.get_positions(), symbols=atoms.get_chemical_symbols())


def integrated_moments(sd: SpinDensity) -> dict[str, float]:
    """M = ∫m dV, |M| = ∫|m| dV, and the positive and negative parts (µB)."""
    dv = sd.dv
    return {"total_muB": float(sd.m.sum() * dv), "abs_muB": float(np.abs(sd.m).sum() * dv),
            "positive_muB": float(np.clip(sd.m, 0, None).sum() * dv),
            "negative_muB": float(np.clip(sd.m, None, 0).sum() * dv)}


def slab_mask(sd: SpinDensity, z0: float, half_width: float) -> np.ndarray:
    """Grid planes with |z − z0| ≤ half_width (z periodic with the cell)."""
    lz = sd.cell[2, 2]
    dz = (sd.z_coords() - z0 + 0.5 * lz) % lz - 0.5 * lz
    mask = np.abs(dz) <= half_width + 1e-9
    if not mask.any():
        mask[int(np.argmin(np.abs(dz)))] = True
    return mask


def column_density(sd: SpinDensity, z0: float | None = None, half_width: float | None = None,
                   absolute: bool = False) -> np.ndarray:
    """σ(x, y) = ∫ m dz (µB/Å²) over the cell, or over the slab |z − z0| ≤ half_width."""
    m = np.abs(sd.m) if absolute else sd.m
    if z0 is not None and half_width is not None:
        m = m[:, :, slab_mask(sd, z0, half_width)]
    return m.sum(axis=2) * sd.dz


def plane_cut(sd: SpinDensity, z0: float) -> np.ndarray:
    """m(x, y, z0) (µB/Å³), linear interpolation between the two nearest grid planes."""
    n3 = sd.shape[2]
    t = z0 / sd.dz
    k0 = int(np.floor(t)) % n3
    w = t - np.floor(t)
    return (1 - w) * sd.m[:, :, k0] + w * sd.m[:, :, (k0 + 1) % n3]
