"""GPAW engine: the embedded default DFT code of the pipeline.

Recipe functions in the style of quacc: each takes an ASE ``Atoms`` (or a ``.gpw`` restart
file) and a plain ``settings`` dict (one profile's ``dft`` section of the config), runs GPAW
and returns plain data.  Every file is written atomically.

Settings keys (units in the names; see ``workflow/schemas/profile.schema.yaml``):
``mode`` (``lcao`` | ``pw``), ``basis``, ``ecut_eV``, ``grid_spacing_angstrom``,
``kpt_density_per_inv_angstrom``, ``smearing_eV``, ``band_path_points``,
``scf_energy_tol_eV``, ``scf_density_tol``, ``maxiter``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from isingflow.dft.bandfile import BandStructure
from isingflow.dft.gpaw.read import collinear_projections, gpaw_version
from isingflow.dft.kpoints import kpoint_mesh
from isingflow.provenance import atomic_path, hash_object, jsonable, provenance


class SCFNotConverged(RuntimeError):
    """The self-consistent cycle did not converge: never a result."""


def is_magnetic(atoms: Atoms) -> bool:
    return bool(np.any(np.abs(atoms.get_initial_magnetic_moments()) > 1e-8))


def gpaw_parameters(atoms: Atoms, settings: dict[str, Any], xc: str = "PBE",
                    hubbard_u_eV: dict[str, float] | None = None,
                    dipole_correction: bool | None = None) -> dict[str, Any]:
    """Keyword arguments of ``gpaw.GPAW`` for a ground state of ``atoms`` with ``settings``.

    ``hubbard_u_eV`` maps element → U (eV, applied to the d shell); ``dipole_correction``
    switches on GPAW's dipole layer (for asymmetric slabs; off by default). A calculation is
    spin-polarised when any initial magnetic moment of ``atoms`` is non-zero.
    """
    from gpaw import PW, FermiDirac

    mode = settings["mode"]
    params: dict[str, Any] = {
        "xc": xc,
        "kpts": {"size": tuple(kpoint_mesh(atoms, settings["kpt_density_per_inv_angstrom"])),
                 "gamma": True},
        "occupations": FermiDirac(settings["smearing_eV"]),
        "convergence": {"energy": settings["scf_energy_tol_eV"],
                        "density": settings["scf_density_tol"]},
        "maxiter": settings["maxiter"],
        "h": settings["grid_spacing_angstrom"],
        "spinpol": is_magnetic(atoms),
    }
    if mode == "lcao":
        params["mode"] = "lcao"
        params["basis"] = settings["basis"]
    elif mode == "pw":
        params["mode"] = PW(settings["ecut_eV"])
        params.pop("h")
    else:
        raise ValueError(f"settings['mode']: unknown GPAW mode {mode!r} (lcao or pw)")
    if params["spinpol"] and settings.get("mixer_beta"):
        # magnetic metallic slabs: a gentler density mixing (with the magnetisation mixed as
        # part of the total density, MixerSum) avoids the moment wandering between iterations
        from gpaw import MixerSum

        params["mixer"] = MixerSum(beta=settings["mixer_beta"], nmaxold=5, weight=50.0)
    if hubbard_u_eV:
        params["setups"] = {el: f":d,{u}" for el, u in hubbard_u_eV.items()}
    if dipole_correction and not all(atoms.pbc):
        params["poissonsolver"] = {"dipolelayer": "xy"}
    return params


def run_ground_state(atoms: Atoms, settings: dict[str, Any], gpw_path: str | os.PathLike,
                     txt: str | os.PathLike | None = "-", xc: str = "PBE",
                     hubbard_u_eV: dict[str, float] | None = None,
                     dipole_correction: bool | None = None,
                     cache_dir: str | os.PathLike | None = None,
                     mesh_bands_path: str | os.PathLike | None = None,
                     atom_layers: list[int] | None = None) -> dict[str, Any]:
    """Self-consistent ground state of ``atoms``; writes the ``.gpw`` restart file.

    With ``cache_dir``, every converged ``.gpw`` is also kept there under the hash of its
    inputs (structure + GPAW parameters); a later call with the same inputs (e.g. after the
    job was killed and Snakemake removed its incomplete outputs) reloads it instead of
    repeating the SCF.  An unconverged SCF raises :class:`SCFNotConverged`.

    With ``mesh_bands_path`` the eigenvalues on the irreducible SCF k-mesh, with their weights
    and per-atom projections (and ``atom_layers``), are written as a normalised band file: enough
    for Fermi-surface averages (e.g. λex of every variant of an ensemble) without a band job.

    Returns a summary: total energy (eV), Fermi level (eV), total and per-atom magnetic
    moments (µB), k-mesh, the number of SCF iterations and the inputs' hash.
    """
    gpw_path = Path(gpw_path)
    params = gpaw_parameters(atoms, settings, xc=xc, hubbard_u_eV=hubbard_u_eV,
                             dipole_correction=dipole_correction)
    inputs_hash = hash_object({"atoms": _atoms_fingerprint(atoms), "params": jsonable(params)})
    cached = Path(cache_dir) / f"gs-{inputs_hash[:20]}.gpw" if cache_dir is not None else None
    calc, energy, reused = _converged_calculator(atoms, params, settings, cached, txt)
    if mesh_bands_path is not None:
        from isingflow.dft.bandfile import write_bands

        write_bands(mesh_bands_path, _mesh_bands(calc, atom_layers, inputs_hash, reused))
    if cached is not None:
        _link_or_copy(cached, gpw_path)
    else:
        with atomic_path(gpw_path) as tmp:
            calc.write(str(tmp))
    return {**_vacuum_summary(calc), **_scf_summary(calc, params, energy, reused), "inputs_hash": inputs_hash,
            "gpaw_parameters": jsonable(params)}


def _converged_calculator(atoms: Atoms, params: dict[str, Any], settings: dict[str, Any], cached: Path | None,
                          txt) -> tuple[Any, float, bool]:
    """(calculator, energy in eV, reused): the cached converged ``.gpw`` when there is one, else a new SCF."""
    from gpaw import GPAW, KohnShamConvergenceError

    txt = str(txt) if txt is not None else None
    if cached is not None and cached.is_file():
        calc = GPAW(str(cached), txt=txt)
        return calc, calc.get_potential_energy(), True
    atoms = atoms.copy()
    calc = GPAW(txt=txt, **params)
    atoms.calc = calc
    try:
        energy = atoms.get_potential_energy()
    except KohnShamConvergenceError as exc:
        raise SCFNotConverged(f"GPAW SCF did not converge in {settings['maxiter']} iterations "
                              f"(energy tol {settings['scf_energy_tol_eV']} eV, density tol "
                              f"{settings['scf_density_tol']}): {exc}") from exc
    if cached is not None:
        with atomic_path(cached) as tmp:
            calc.write(str(tmp))
    return calc, energy, False


def _vacuum_summary(calc) -> dict[str, Any]:
    """Vacuum levels and work functions on both sides of the slab, and the planar potential."""
    z_angstrom, v_planar_eV = planar_average_potential(calc)
    vac_bottom, vac_top = vacuum_levels(z_angstrom, v_planar_eV, calc.get_atoms().positions[:, 2])
    fermi = float(calc.get_fermi_level())
    return {
        "vacuum_level_bottom_eV": vac_bottom,
        "vacuum_level_top_eV": vac_top,
        "work_function_bottom_eV": vac_bottom - fermi,
        "work_function_top_eV": vac_top - fermi,
        "planar_potential": {"z_angstrom": np.round(z_angstrom, 4).tolist(),
                             "v_eV": np.round(v_planar_eV, 5).tolist()},
    }


def _scf_summary(calc, params: dict[str, Any], energy: float, reused: bool) -> dict[str, Any]:
    """Energy, Fermi level, moments, k-mesh and iterations of a converged ground state."""
    spinpol = params["spinpol"]
    magmoms = calc.get_magnetic_moments() if spinpol else np.zeros(len(calc.get_atoms()))
    return {
        "energy_eV": float(energy),
        "fermi_level_eV": float(calc.get_fermi_level()),
        "magmom_total_muB": float(calc.get_magnetic_moment()) if spinpol else 0.0,
        "magmoms_muB": [float(m) for m in magmoms],
        "kpts_size": list(params["kpts"]["size"]),
        "scf_iterations": 0 if reused else int(calc.get_number_of_iterations()),
        "reused_converged_gpw": bool(reused),
        "spin_polarized": bool(spinpol),
    }


def planar_average_potential(calc) -> tuple[np.ndarray, np.ndarray]:
    """Planar (xy) average of the electrostatic potential along z: (z in Å, V in eV)."""
    v = np.asarray(calc.get_electrostatic_potential())
    cell_z = float(calc.get_atoms().cell[2, 2])
    nz = v.shape[2]
    return np.arange(nz) * cell_z / nz, v.mean(axis=(0, 1))


def vacuum_levels(z_angstrom: np.ndarray, v_eV: np.ndarray, atom_z_angstrom: np.ndarray,
                  clearance_angstrom: float = 3.0) -> tuple[float, float]:
    """Vacuum level below and above a slab: the plateau value of the planar potential.

    The plateau is taken as the median of V(z) over the points more than
    ``clearance_angstrom`` away from every atom on each side (excluding the cell edge,
    where a zero boundary condition pins V).  With a dipole correction the two differ.
    """
    zmin, zmax = atom_z_angstrom.min(), atom_z_angstrom.max()
    edge = 0.5
    below = (z_angstrom < zmin - clearance_angstrom) & (z_angstrom > edge)
    above = (z_angstrom > zmax + clearance_angstrom) & (z_angstrom < z_angstrom[-1] - edge)
    if not below.any() or not above.any():
        raise ValueError("vacuum too thin to read the vacuum level: increase vacuum_angstrom")
    return float(np.median(v_eV[below])), float(np.median(v_eV[above]))


def _mesh_bands(calc, atom_layers, inputs_hash: str, reloaded: bool) -> BandStructure:
    """Eigenvalues, weights and projections on the SCF's irreducible k-mesh."""
    if reloaded:  # a reloaded .gpw holds no wave functions: recompute them on the fixed density
        calc = calc.fixed_density(kpts=calc.get_ibz_k_points(), symmetry="off", txt=None)
    atoms = calc.get_atoms()
    ibz = calc.get_ibz_k_points()
    nspins = calc.get_number_of_spins()
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(len(ibz))] for s in range(nspins)])
    proj = collinear_projections(calc, nspins, len(ibz), len(atoms))
    weights = calc.get_k_point_weights()
    return BandStructure(eigenvalues=eig, kpoints=ibz, fermi_level=float(calc.get_fermi_level()),
                         weights=np.asarray(weights), cell=np.array(atoms.cell),
                         symbols=atoms.get_chemical_symbols(), positions=atoms.get_positions(),
                         projections=proj, atom_layers=list(atom_layers) if atom_layers is not None else None,
                         magmoms=calc.get_magnetic_moments() if nspins == 2 else None,
                         code="gpaw", code_version=gpaw_version(), inputs_hash=inputs_hash[:16],
                         provenance=provenance(inputs_hash=inputs_hash))


# -- helpers ---------------------------------------------------------------------------------
def _link_or_copy(src: Path, dst: str | os.PathLike) -> None:
    """Put ``src`` at ``dst`` atomically (hard link where possible, else a copy)."""
    import shutil

    with atomic_path(dst) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def _atoms_fingerprint(atoms: Atoms) -> dict:
    return {"numbers": atoms.numbers.tolist(), "positions": np.round(atoms.positions, 6).tolist(),
            "cell": np.round(np.array(atoms.cell), 6).tolist(), "pbc": atoms.pbc.tolist(),
            "magmoms": np.round(atoms.get_initial_magnetic_moments(), 4).tolist()}


