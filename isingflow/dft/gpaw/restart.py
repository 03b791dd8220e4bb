"""GPAW: start an SCF from a converged neighbour — its LCAO coefficients moved with the atoms.

A member of a stacking ensemble differs from its neighbour only by a lateral shift of one layer.
GPAW's LCAO wave functions are coefficients of atom-centred orbitals, so moving the atoms carries
the neighbour's converged state (its density *and* its magnetisation, which is what takes an SCF
from atomic densities 40–60 iterations) onto the new registry; the SCF then only relaxes the
interface.  The plan of who seeds whom is :mod:`isingflow.dft.restart_plan`; why and what it
costs and changes is in docs/dft.md ("Restarts from a neighbouring registry").

A restart is refused, and the caller runs the SCF from scratch, when it would not be the same
calculation: other GPAW parameters, other atoms or cell, no wave functions in the source file,
plane-wave mode, or a target whose symmetry is higher than the source's (GPAW would keep the
source's smaller symmetry group, so the target would lose its k-point reduction) or lower (GPAW
refuses to move atoms off the source's symmetry).
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms

from isingflow.provenance import jsonable


@dataclass
class Restart:
    """The outcome of a restart attempt: the calculator (None: run from scratch) and why."""

    calc: Any
    source: str
    used: bool
    reason: str

    def record(self) -> dict[str, Any]:
        return {"source": self.source, "used": self.used, "reason": self.reason}


def restarted_calculator(source_gpw: str | os.PathLike, source_params: dict[str, Any], atoms: Atoms,
                         params: dict[str, Any], txt=None) -> Restart:
    """A GPAW calculator holding ``source_gpw``'s converged state moved onto ``atoms``.

    Parameters
    ----------
    source_gpw
        Converged ``.gpw`` of the neighbour, written with its wave functions (``mode='all'``).
    source_params
        The neighbour's GPAW parameters as recorded in its ``gs.json`` (``gpaw_parameters``).
    atoms
        The structure to converge (same species order and cell as the source).
    params
        This SCF's GPAW parameters (:func:`isingflow.dft.gpaw.ground_state.gpaw_parameters`).
    txt
        GPAW log file.

    Returns
    -------
    Restart
        ``used`` False (and ``calc`` None) with the reason when the restart would not be the same
        calculation; then the caller starts from scratch.
    """
    from gpaw import GPAW
    from gpaw.new.symmetry import SymmetryBrokenError, create_symmetries_object

    source = str(source_gpw)
    if params.get("mode") != "lcao":
        return Restart(None, source, False, "plane-wave mode: wave functions do not follow moved atoms")
    if _normalised(params) != _normalised(source_params):
        return Restart(None, source, False, "the source used other GPAW parameters")
    with warnings.catch_warnings():   # the moment criterion is not stored in .gpw files: set_convergence
        warnings.filterwarnings("ignore", message="Custom convergence criterion")
        calc = GPAW(source, txt=str(txt) if txt is not None else None)
    old = calc.get_atoms()
    if old.get_chemical_symbols() != atoms.get_chemical_symbols() or not np.allclose(old.cell, atoms.cell):
        return Restart(None, source, False, "the source has other atoms or another cell")
    if not calc.dft.ibzwfs.has_wave_functions():
        return Restart(None, source, False, "the source file holds no wave functions")
    n_source = len(calc.dft.ibzwfs.ibz.symmetries)
    n_target = len(create_symmetries_object(atoms, magmoms=atoms.get_initial_magnetic_moments()))
    if n_target != n_source:
        return Restart(None, source, False, f"{n_target} symmetry operations here, {n_source} in the source")
    moved = atoms.copy()
    moved.set_initial_magnetic_moments(old.get_initial_magnetic_moments())
    try:
        calc.move_atoms(moved)
    except SymmetryBrokenError:
        return Restart(None, source, False, "the moved atoms break the source's symmetry")
    return Restart(calc, source, True, "restarted from the source's converged LCAO coefficients")


def _normalised(params: dict[str, Any]) -> Any:
    """GPAW parameters as ``gs.json`` holds them (tuples as lists, objects as dicts)."""
    return json.loads(json.dumps(jsonable(params)))


def set_convergence(calc, convergence: dict[str, Any], maxiter: int) -> None:
    """Impose this SCF's convergence criteria (incl. custom ones) on a restarted calculator.

    A calculator read from a ``.gpw`` file has the source's criteria without its custom ones
    (GPAW does not store them): the moment criterion must be set again.
    """
    from gpaw.new.scf import create_convergence_criteria

    calc.dft.scf_loop.convergence = create_convergence_criteria(convergence)
    calc.dft.scf_loop.maxiter = int(maxiter)
