"""Grimme's DFT-D3 dispersion energy with Becke–Johnson damping, D3(BJ), via simple-dftd3.

PBE (like any semi-local functional) binds van der Waals layers hardly at all; the D3(BJ)
correction adds the pairwise −C6/r⁶ − C8/r⁸ attraction, damped to a finite value at short
range (two-body only: the library's default parameters for PBE-D3(BJ) leave out the three-body
ATM term).  The energy is a sum over atom pairs and needs
only the structure, so it is added to the DFT total energy afterwards (it changes no
wave function).  Slabs are periodic in-plane only (``atoms.pbc``); the lattice sums run
over the in-plane images up to the library's real-space cut-offs.

Two routes to the same number: :func:`d3_energy_eV` (the library's ASE calculator) and
:func:`d3_energy_direct_eV` (its plain API, atomic units); the tests check that they agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from ase import Atoms

# Grimme, Ehrlich, Goerigk, J. Comput. Chem. 32, 1456 (2011): PBE-D3(BJ), two-body terms only
# (s9 = 0, no three-body ATM term: what the library selects for method="PBE", damping="d3bj")
PBE_D3BJ_PARAMETERS = {"s6": 1.0, "s8": 0.7875, "a1": 0.4289, "a2": 4.4407, "s9": 0.0}


@dataclass(frozen=True)
class DispersionEnergies:
    """D3 energy of a stack and of its layers, each alone in the same cell (eV).

    Attributes
    ----------
    stack_eV
        The whole structure.
    layers_eV
        Each layer (by the ``layer`` array), alone.
    interaction_eV
        ``stack_eV − Σ layers_eV``: the dispersion part of the interlayer binding (< 0).
    """

    stack_eV: float
    layers_eV: tuple[float, ...]
    interaction_eV: float


def d3_energy_eV(atoms: Atoms, method: str = "PBE", damping: str = "d3bj") -> float:
    """D3 dispersion energy of ``atoms`` (eV) from simple-dftd3's ASE calculator.

    Parameters
    ----------
    atoms
        The structure; its ``pbc`` decides which directions are periodic.
    method
        The functional whose D3 parameters are used (``"PBE"``).
    damping
        ``"d3bj"`` (rational, Becke–Johnson) or another damping of the library (``"d3zero"``).

    Returns
    -------
    float
        The dispersion energy in eV (negative).
    """
    from dftd3.ase import DFTD3

    work = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    work.calc = DFTD3(method=method, damping=damping)
    return float(work.get_potential_energy())


def d3_energy_direct_eV(atoms: Atoms, parameters: dict[str, float] | None = None,
                        method: str = "pbe") -> float:
    """The same energy through the library's own API (Bohr and Hartree inside).

    Parameters
    ----------
    atoms
        The structure.
    parameters
        Explicit rational-damping parameters (``s6``, ``s8``, ``a1``, ``a2``; ``s9`` default 1);
        ``None``: the library's parameters of ``method``.
    method
        Functional name for the library's parameter table (used when ``parameters`` is None).

    Returns
    -------
    float
        The dispersion energy in eV.
    """
    from ase.units import Bohr, Hartree
    from dftd3.interface import DispersionModel, RationalDampingParam

    model = DispersionModel(atoms.numbers, atoms.positions / Bohr, np.array(atoms.cell) / Bohr,
                            np.asarray(atoms.pbc, dtype=bool))
    param = RationalDampingParam(**parameters) if parameters else RationalDampingParam(method=method)
    return float(model.get_dispersion(param, grad=False)["energy"]) * Hartree


def layer_dispersion(atoms: Atoms, layer_of_atom: Sequence[int] | None = None, method: str = "PBE",
                     damping: str = "d3bj") -> DispersionEnergies:
    """D3 energy of a stack, of each of its layers alone (same cell), and their difference.

    Parameters
    ----------
    atoms
        The stack.
    layer_of_atom
        Layer index of every atom (default: ``atoms.arrays["layer"]``).
    method, damping
        See :func:`d3_energy_eV`.

    Returns
    -------
    DispersionEnergies
    """
    layers = np.asarray(atoms.arrays["layer"] if layer_of_atom is None else layer_of_atom, dtype=int)
    if len(layers) != len(atoms):
        raise ValueError(f"layer_of_atom has {len(layers)} entries for {len(atoms)} atoms")
    stack = d3_energy_eV(atoms, method, damping)
    parts = tuple(d3_energy_eV(atoms[layers == i], method, damping) for i in np.unique(layers))
    return DispersionEnergies(stack_eV=stack, layers_eV=parts, interaction_eV=stack - sum(parts))
