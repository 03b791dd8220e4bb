"""GPAW fixed-spin-moment energies E(M) and the density of states at E_F: the Stoner enhancement.

Monolayer NbSe2 sits near its Stoner threshold, so the moment it picks up from a magnet (and
λex) depends on how close: :func:`fixed_moment_energy` gives the energy at a fixed total moment M
(separate Fermi levels per spin), :func:`dos_at_fermi_level` the non-magnetic N(E_F) with the
same smearing; :func:`isingflow.extract.stoner.stoner_enhancement` turns them into χ/χ_Pauli.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
from ase import Atoms

from isingflow.dft.bandfile import fermi_window
from isingflow.dft.gpaw.ground_state import gpaw_parameters


def dos_at_fermi_level(calc, width_eV: float) -> float:
    """N(E_F) in states/eV per cell, both spins: Σ_k w_k Σ_n (−∂f/∂ε) with the SCF's Fermi–Dirac width."""
    ef = calc.get_fermi_level()
    weights = np.asarray(calc.get_k_point_weights())
    nspins = calc.get_number_of_spins()
    total = 0.0
    for s in range(nspins):
        for k, w in enumerate(weights):
            total += w * float(np.sum(fermi_window(np.asarray(calc.get_eigenvalues(kpt=k, spin=s)) - ef, width_eV)))
    return total * (2 if nspins == 1 else 1)


def fixed_moment_energy(atoms: Atoms, settings: dict[str, Any], moment_muB: float, element: str,
                        txt: str | os.PathLike | None = None) -> dict[str, Any]:
    """Energy of ``atoms`` with the total spin moment fixed at ``moment_muB`` (µB per cell).

    The moment is placed on the atoms of ``element`` as the starting guess (equal shares); M = 0
    is the non-magnetic calculation, which also gives N(E_F).  Returns M, the energy (eV, ASE's
    zero-width extrapolation, the same for every M), the free energy, the SCF iterations and, at
    M = 0, ``dos_at_fermi_per_eV``.
    """
    from gpaw import GPAW

    at = atoms.copy()
    sites = [i for i, s in enumerate(at.get_chemical_symbols()) if s == element]
    if not sites:
        raise ValueError(f"fixed-spin-moment curve: no {element} atom to carry the moment")
    magmoms = np.zeros(len(at))
    magmoms[sites] = moment_muB / len(sites)
    at.set_initial_magnetic_moments(magmoms)
    params = gpaw_parameters(at, {**settings, "fixed_moment": moment_muB > 0})
    at.calc = GPAW(txt=str(txt) if txt is not None else None, **params)
    energy = float(at.get_potential_energy())
    calc = at.calc
    out = {"moment_muB": float(moment_muB), "energy_eV": energy,
           "free_energy_eV": float(at.get_potential_energy(force_consistent=True)),
           "magmom_total_muB": float(calc.get_magnetic_moment()) if moment_muB > 0 else 0.0,
           "kpts_size": list(params["kpts"]["size"]), "smearing_eV": float(settings["smearing_eV"]),
           "scf_iterations": int(calc.get_number_of_iterations())}
    if moment_muB == 0:
        out["dos_at_fermi_per_eV"] = dos_at_fermi_level(calc, float(settings["smearing_eV"]))
    return out
