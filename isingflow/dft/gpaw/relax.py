"""Internal coordinates of a strained layer relaxed at fixed cell (GPAW forces, optionally + D3).

A layer strained onto a commensurate cell (CrBr3 +9.9 % on 2×2 NbSe2) keeps the heights of its
unstrained library structure, so its bonds are stretched (Cr–Br 2.71 Å against 2.54 Å).  Here its
atoms move, with the in-plane cell fixed, until every force is below ``fmax``; the relaxed layer
can then replace the unrelaxed one in a stack (:func:`insert_layer`).  Conventions:
``docs/geometry.md``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms

from isingflow.dft.gpaw.ground_state import gpaw_parameters
from isingflow.dft.gpaw.layers import layer_indices


@dataclass
class RelaxedLayer:
    """A layer relaxed at fixed cell.

    Attributes
    ----------
    atoms
        The relaxed layer (same atom order and cell as the input).
    energy_initial_eV, energy_final_eV
        Total energy (GPAW, + D3 when ``with_d3``) before and after.
    bond_initial_angstrom, bond_final_angstrom
        Mean nearest-neighbour bond between ``bond_elements`` (e.g. Cr–Br).
    bond_elements
        The two elements of the bond.
    n_steps
        Optimiser steps taken.
    converged
        Whether the largest force fell below ``fmax_eV_per_angstrom``.
    fmax_eV_per_angstrom, max_force_final_eV_per_angstrom
        The threshold and the largest remaining force.
    with_d3
        Whether D3(BJ) forces were included.
    """

    atoms: Atoms
    energy_initial_eV: float
    energy_final_eV: float
    bond_initial_angstrom: float
    bond_final_angstrom: float
    bond_elements: tuple[str, str]
    n_steps: int
    converged: bool
    fmax_eV_per_angstrom: float
    max_force_final_eV_per_angstrom: float
    with_d3: bool

    @property
    def energy_gain_meV(self) -> float:
        """E_initial − E_final (meV, ≥ 0 for a successful relaxation)."""
        return 1e3 * (self.energy_initial_eV - self.energy_final_eV)

    def summary(self) -> dict:
        """JSON-ready record without the structure."""
        out = {k: v for k, v in self.__dict__.items() if k != "atoms"}
        out["bond_elements"] = list(self.bond_elements)
        out["energy_gain_meV"] = self.energy_gain_meV
        return out


def mean_bond_length(atoms: Atoms, center: str, neighbour: str, n_neighbours: int | None = None) -> float:
    """Mean distance (Å) from each ``center`` atom to its nearest ``neighbour`` atoms (minimum image).

    ``n_neighbours``: how many nearest neighbours per centre (default: all within 1.15 × the
    shortest such distance, e.g. the six Br around each Cr).
    """
    symbols = np.array(atoms.get_chemical_symbols())
    ci, ni = np.flatnonzero(symbols == center), np.flatnonzero(symbols == neighbour)
    if not len(ci) or not len(ni):
        raise ValueError(f"no {center}–{neighbour} pair in {atoms.get_chemical_formula()}")
    dist = np.array([atoms.get_distances(int(c), ni, mic=True) for c in ci])
    dmin = dist.min()
    near = [np.sort(row)[:n_neighbours] if n_neighbours else row[row < 1.15 * dmin] for row in dist]
    return float(np.mean(np.concatenate(near)))


def _calculator(atoms: Atoms, settings: dict[str, Any], txt, with_d3: bool, **gpaw_kwargs):
    from gpaw import GPAW

    dft = GPAW(txt=txt, **gpaw_parameters(atoms, settings, **gpaw_kwargs))
    if not with_d3:
        return dft
    from ase.calculators.mixing import SumCalculator
    from dftd3.ase import DFTD3

    return SumCalculator([dft, DFTD3(method=gpaw_kwargs.get("xc", "PBE"), damping="d3bj")])


def relax_layer(atoms: Atoms, settings: dict[str, Any], fmax_eV_per_angstrom: float = 0.05, steps: int = 100,
                bond_elements: tuple[str, str] = ("Cr", "Br"), with_d3: bool = True, txt: str | None = None,
                trajectory: str | None = None, **gpaw_kwargs) -> RelaxedLayer:
    """Relax the atoms of one layer at fixed cell (ASE BFGS on GPAW [+ D3(BJ)] forces).

    Parameters
    ----------
    atoms
        The layer (e.g. :func:`~isingflow.dft.gpaw.layers.cut_layer` of a stack), with vacuum.
    settings
        One profile's ``dft`` settings (LCAO or PW; forces from either).
    fmax_eV_per_angstrom
        Stop when every force is below this.
    steps
        At most this many optimiser steps.
    bond_elements
        The bond reported before and after.
    with_d3
        Add D3(BJ) forces (the binding curves use PBE + D3(BJ)).
    txt, trajectory
        GPAW log and ASE trajectory files (None: none).
    **gpaw_kwargs
        ``xc``, ``hubbard_u_eV``, ``dipole_correction`` of :func:`gpaw_parameters`.

    Returns
    -------
    RelaxedLayer
    """
    from ase.optimize import BFGS

    work = atoms.copy()
    work.calc = _calculator(work, settings, txt, with_d3, **gpaw_kwargs)
    e0 = float(work.get_potential_energy())
    bond0 = mean_bond_length(work, *bond_elements)
    opt = BFGS(work, logfile=None, trajectory=trajectory)
    converged = bool(opt.run(fmax=fmax_eV_per_angstrom, steps=steps))
    fmax_final = float(np.linalg.norm(work.get_forces(), axis=1).max())
    relaxed = Atoms(work.numbers, positions=work.positions, cell=work.cell, pbc=work.pbc)
    relaxed.set_initial_magnetic_moments(atoms.get_initial_magnetic_moments())
    if "layer" in atoms.arrays:
        relaxed.new_array("layer", atoms.arrays["layer"].copy())
    return RelaxedLayer(relaxed, e0, float(work.get_potential_energy()), bond0,
                        mean_bond_length(relaxed, *bond_elements), tuple(bond_elements), int(opt.get_number_of_steps()),
                        converged, float(fmax_eV_per_angstrom), fmax_final, bool(with_d3))


def insert_layer(stack: Atoms, layer: int, relaxed: Atoms, plane_element: str) -> Atoms:
    """The stack with layer ``layer`` replaced by ``relaxed`` (same atoms, same order, same cell in-plane).

    The relaxed layer's reference plane (mean z of its ``plane_element`` atoms) is put at the
    stack layer's plane, so the interlayer plane distances stay as they were; in-plane
    positions are taken from ``relaxed`` with its in-plane drift (mean xy displacement) removed.
    """
    lay = layer_indices(stack)
    sel = np.flatnonzero(lay == layer)
    old = stack.positions[sel]
    if [stack.get_chemical_symbols()[i] for i in sel] != relaxed.get_chemical_symbols():
        raise ValueError(f"the relaxed layer does not match layer {layer} of the stack atom by atom")
    if not np.allclose(np.array(stack.cell)[:2, :2], np.array(relaxed.cell)[:2, :2], atol=1e-6):
        raise ValueError("the relaxed layer's in-plane cell differs from the stack's")
    symbols = np.array(relaxed.get_chemical_symbols())
    plane = symbols == plane_element
    new = relaxed.positions.copy()
    new[:, 2] += old[plane, 2].mean() - new[plane, 2].mean()
    drift = (new[:, :2] - old[:, :2]).mean(axis=0)
    new[:, :2] -= drift
    out = stack.copy()
    out.positions[sel] = new
    return out


def most_strained_layer(record: dict) -> int:
    """The layer of a manifest variant with the largest |biaxial strain| (the one to relax)."""
    strains = [abs(float(lm["strain"]["biaxial_percent"])) for lm in record["layers"]]
    return int(np.argmax(strains))
