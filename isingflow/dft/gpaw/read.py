"""GPAW: the eigenvalues on the irreducible k-mesh of a ``.gpw`` file, and per-atom projections."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from isingflow.dft.bandfile import BandStructure


def collinear_projections(calc, nspins: int, nk: int, natoms: int) -> np.ndarray:
    """Weight of each collinear Kohn–Sham state on each atom, ``[spin, k, band, atom]``.

    The weights are the squared PAW-projector overlaps Σ_i |⟨p̃_ai|ψ̃_n⟩|² of each atom,
    normalised to one per state: a robust "which atom/layer does this state live on" measure
    for LCAO and plane waves alike.
    """
    ibzwfs = calc.dft.ibzwfs
    out = None
    for wfs in ibzwfs:
        P = wfs.P_ani
        w = np.stack([(np.abs(P[a]) ** 2).sum(axis=-1) for a in range(natoms)], axis=-1)
        if out is None:
            out = np.zeros((nspins, nk, w.shape[0], natoms))
        out[wfs.spin, wfs.k] = w
    out /= np.maximum(out.sum(axis=-1, keepdims=True), 1e-30)
    return out


def read_gpw_bands(gpw_path: str | os.PathLike) -> BandStructure:
    """Eigenvalues on the irreducible k-mesh stored in a GPAW ``.gpw`` file."""
    from gpaw import GPAW

    gpw_path = Path(gpw_path)
    try:
        calc = GPAW(str(gpw_path), txt=None)
    except Exception as exc:  # noqa: BLE001 - GPAW raises many types for a bad file
        raise ValueError(f"{gpw_path}: cannot read GPAW restart file: {exc}") from exc
    atoms = calc.get_atoms()
    ibz = calc.get_ibz_k_points()
    nspins = calc.get_number_of_spins()
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(len(ibz))] for s in range(nspins)])
    magmoms = calc.get_magnetic_moments() if nspins == 2 else None
    return BandStructure(eigenvalues=eig, kpoints=ibz, fermi_level=float(calc.get_fermi_level()),
                         weights=calc.get_k_point_weights(), cell=np.array(atoms.cell),
                         symbols=atoms.get_chemical_symbols(), positions=atoms.get_positions(),
                         magmoms=magmoms, code="gpaw", code_version=gpaw_version(),
                         source=str(gpw_path))


def gpaw_version() -> str:
    import gpaw

    return gpaw.__version__


