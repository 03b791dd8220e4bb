"""GPAW: non-self-consistent bands along a path (with or without SOC, optionally unfolded)."""
from __future__ import annotations

import os

import numpy as np

from isingflow.dft.bandfile import BandStructure
from isingflow.dft.gpaw.read import collinear_projections, gpaw_version
from isingflow.dft.gpaw.unfold import unfold_weights
from isingflow.dft.kpoints import band_path_for, bandpath_labels
from isingflow.provenance import hash_file


def run_band_structure(gpw_path: str | os.PathLike, path: str, npoints: int,
                       soc: bool, txt: str | os.PathLike | None = "-",
                       magnetisation_theta_phi_deg: tuple[float, float] = (0.0, 0.0),
                       extra_bands: int = 8, projections: bool = True,
                       atom_layers: list[int] | None = None,
                       supercell_matrix: np.ndarray | None = None,
                       unfold_atoms: list[int] | None = None) -> BandStructure:
    """Non-self-consistent bands along ``path`` on the converged density of ``gpw_path``.

    With ``soc`` the spin–orbit eigenstates (``gpaw.spinorbit.soc_eigenstates``) are
    computed, with the magnetisation along (θ, φ) for magnetic systems, and the result carries
    the per-state spin expectation ⟨σ⟩.  With ``projections`` every state carries its weight
    on every atom; ``atom_layers`` (default: the ``layer`` array of the structure, if any)
    lets later stages sum them per layer.

    Band unfolding: with ``supercell_matrix`` M (integer, supercell cell = M · primitive cell)
    the path is drawn in the *primitive* zone (e.g. the 1×1 NbSe2 zone of a 2×2 NbSe2/CrBr3
    cell), each primitive k is folded into the supercell zone for the calculation, and every
    state gets the spectral weight of the primitive k-point it was computed for
    (``unfold_weights``, collinear bands; LCAO: on the orbitals of ``unfold_atoms``, PW: the
    plane-wave weight of the pseudo wave function in their height range).  ``unfold_atoms`` are
    the atoms of the sublattice that is periodic in the primitive cell (e.g. the NbSe2 atoms); the
    other atoms are projected out, so a weight near 1 means "a NbSe2 state of this primitive k".  The Fermi
    level is that of the self-consistent k-mesh (with SOC applied on that mesh when ``soc`` is true), not of the path.
    """
    from gpaw import GPAW

    gs = GPAW(str(gpw_path), txt=None)
    atoms = gs.get_atoms()
    nocc = int(np.ceil(gs.get_number_of_electrons() / 2))
    extra_bands = max(extra_bands, nocc // 4)   # large cells: empty states up to ~1-2 eV above E_F
    bandpath, kpts_calc, primitive_cell = _paths(atoms, path, npoints, supercell_matrix)
    calc = gs.fixed_density(kpts=kpts_calc, symmetry="off", nbands=nocc + extra_bands,
                            convergence={"bands": nocc + extra_bands // 2},
                            txt=str(txt) if txt is not None else None)
    if atom_layers is None and "layer" in atoms.arrays:
        atom_layers = atoms.arrays["layer"].tolist()
    kpoints = bandpath.kpts if supercell_matrix is None else kpts_calc
    common = dict(kpoints=np.asarray(kpoints), cell=np.array(atoms.cell), symbols=atoms.get_chemical_symbols(),
                  positions=atoms.get_positions(), path_labels=bandpath_labels(bandpath), code="gpaw",
                  code_version=gpaw_version(), inputs_hash=hash_file(gpw_path)[:16],
                  atom_layers=list(atom_layers) if atom_layers is not None else None)
    if soc:
        return _soc_bands(calc, gs, magnetisation_theta_phi_deg, projections, common)
    nspins = calc.get_number_of_spins()
    nk = len(bandpath.kpts)
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(nk)] for s in range(nspins)])
    proj = collinear_projections(calc, nspins, nk, len(atoms)) if projections else None
    if supercell_matrix is not None:
        M = np.array(supercell_matrix, dtype=int)
        common.update(unfold_weights=unfold_weights(calc, M, bandpath.kpts, unfold_atoms, nspins),
                      kpoints_primitive=bandpath.kpts, primitive_cell=primitive_cell)
    return BandStructure(eigenvalues=eig, fermi_level=float(gs.get_fermi_level()), soc=False,
                         projections=proj, **common)


def _paths(atoms, path: str, npoints: int, supercell_matrix: np.ndarray | None):
    """(band path, k-points to compute, primitive cell or None): the supercell path, or the primitive
    path folded into the supercell zone (k_super = M k_prim) for unfolding."""
    if supercell_matrix is None:
        bandpath = band_path_for(atoms, path, npoints)
        return bandpath, bandpath, None  # GPAW takes the BandPath itself
    from ase.cell import Cell

    M = np.array(supercell_matrix, dtype=int)
    primitive_cell = np.linalg.solve(M, np.array(atoms.cell))
    bandpath = Cell(primitive_cell).bandpath(path, npoints=npoints, pbc=atoms.pbc)
    return bandpath, bandpath.kpts @ M.T, primitive_cell


def _soc_bands(calc, gs, theta_phi_deg: tuple[float, float], projections: bool, common: dict) -> BandStructure:
    """Spin–orbit bands along the path, ⟨σ⟩ per state, the Fermi level of SOC on the SCF mesh."""
    from gpaw.spinorbit import soc_eigenstates

    theta, phi = theta_phi_deg
    soc_path = soc_eigenstates(calc, theta=theta, phi=phi)
    soc_mesh = soc_eigenstates(gs, theta=theta, phi=phi)
    proj = None
    if projections:
        nis = [setup.ni for setup in calc.setups]
        proj = np.stack([soc_path.pdos_weights(a, list(range(ni))).sum(axis=-1)
                         for a, ni in enumerate(nis)], axis=-1)[np.newaxis]
        proj /= np.maximum(proj.sum(axis=-1, keepdims=True), 1e-30)
    return BandStructure(eigenvalues=soc_path.eigenvalues()[np.newaxis], fermi_level=float(soc_mesh.fermi_level),
                         soc=True, spin_expectation=soc_path.spin_projections(), projections=proj, **common)
