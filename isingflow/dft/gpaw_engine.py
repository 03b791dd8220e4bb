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
from ase.calculators.calculator import kptdensity2monkhorstpack

from isingflow.dft.bandfile import BandStructure
from isingflow.provenance import atomic_path, hash_object


class SCFNotConverged(RuntimeError):
    """The self-consistent cycle did not converge: never a result."""


def monkhorst_pack_size(atoms: Atoms, kpt_density_per_inv_angstrom: float) -> tuple[int, int, int]:
    """Monkhorst–Pack mesh for ``atoms`` from a k-point density (points per 1/Å, 2π included).

    Non-periodic directions get one k-point.
    """
    size = kptdensity2monkhorstpack(atoms, kptdensity=kpt_density_per_inv_angstrom, even=False)
    return tuple(int(n) if p else 1 for n, p in zip(size, atoms.pbc))


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
        "kpts": {"size": monkhorst_pack_size(atoms, settings["kpt_density_per_inv_angstrom"]),
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
    if hubbard_u_eV:
        params["setups"] = {el: f":d,{u}" for el, u in hubbard_u_eV.items()}
    if dipole_correction and not all(atoms.pbc):
        params["poissonsolver"] = {"dipolelayer": "xy"}
    return params


def run_ground_state(atoms: Atoms, settings: dict[str, Any], gpw_path: str | os.PathLike,
                     txt: str | os.PathLike | None = "-", xc: str = "PBE",
                     hubbard_u_eV: dict[str, float] | None = None,
                     dipole_correction: bool | None = None,
                     cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Self-consistent ground state of ``atoms``; writes the ``.gpw`` restart file.

    With ``cache_dir``, every converged ``.gpw`` is also kept there under the hash of its
    inputs (structure + GPAW parameters); a later call with the same inputs (e.g. after the
    job was killed and Snakemake removed its incomplete outputs) reloads it instead of
    repeating the SCF.  An unconverged SCF raises :class:`SCFNotConverged`.

    Returns a summary: total energy (eV), Fermi level (eV), total and per-atom magnetic
    moments (µB), k-mesh, the number of SCF iterations and the inputs' hash.
    """
    from gpaw import GPAW, KohnShamConvergenceError

    gpw_path = Path(gpw_path)
    params = gpaw_parameters(atoms, settings, xc=xc, hubbard_u_eV=hubbard_u_eV,
                             dipole_correction=dipole_correction)
    inputs_hash = hash_object({"atoms": _atoms_fingerprint(atoms), "params": _jsonable(params)})
    cached = Path(cache_dir) / f"gs-{inputs_hash[:20]}.gpw" if cache_dir is not None else None
    reused = cached is not None and cached.is_file()
    if reused:
        calc = GPAW(str(cached), txt=str(txt) if txt is not None else None)
        energy = calc.get_potential_energy()
    else:
        atoms = atoms.copy()
        calc = GPAW(txt=str(txt) if txt is not None else None, **params)
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
    if cached is not None:
        _link_or_copy(cached, gpw_path)
    else:
        with atomic_path(gpw_path) as tmp:
            calc.write(str(tmp))
    magmoms = calc.get_magnetic_moments() if params["spinpol"] else np.zeros(len(atoms))
    return {
        "energy_eV": float(energy),
        "fermi_level_eV": float(calc.get_fermi_level()),
        "magmom_total_muB": float(calc.get_magnetic_moment()) if params["spinpol"] else 0.0,
        "magmoms_muB": [float(m) for m in magmoms],
        "kpts_size": list(params["kpts"]["size"]),
        "scf_iterations": 0 if reused else int(calc.get_number_of_iterations()),
        "reused_converged_gpw": bool(reused),
        "spin_polarized": bool(params["spinpol"]),
        "inputs_hash": inputs_hash,
        "gpaw_parameters": _jsonable(params),
    }


def band_path_for(atoms: Atoms, path: str, npoints: int):
    """ASE ``BandPath`` along ``path`` (special-point letters) for the 2D/3D cell of ``atoms``."""
    return atoms.cell.bandpath(path, npoints=npoints, pbc=atoms.pbc)


def run_band_structure(gpw_path: str | os.PathLike, path: str, npoints: int,
                       soc: bool, txt: str | os.PathLike | None = "-",
                       magnetisation_theta_phi_deg: tuple[float, float] = (0.0, 0.0),
                       extra_bands: int = 8) -> BandStructure:
    """Non-self-consistent bands along ``path`` on the converged density of ``gpw_path``.

    With ``soc`` the spin–orbit eigenstates (``gpaw.spinorbit.soc_eigenstates``) are
    computed, with the magnetisation along (θ, φ) for magnetic systems, and the result carries
    the per-state spin expectation ⟨σ⟩.  The Fermi level is that of the self-consistent
    k-mesh (with SOC applied on that mesh when ``soc`` is true), not of the path.
    """
    from gpaw import GPAW
    from gpaw.spinorbit import soc_eigenstates

    gs = GPAW(str(gpw_path), txt=None)
    atoms = gs.get_atoms()
    bandpath = band_path_for(atoms, path, npoints)
    nocc = int(np.ceil(gs.get_number_of_electrons() / 2))
    nbands = nocc + extra_bands
    calc = gs.fixed_density(kpts=bandpath, symmetry="off", nbands=nbands,
                            convergence={"bands": nocc + extra_bands // 2},
                            txt=str(txt) if txt is not None else None)
    labels = _path_labels(bandpath)
    theta, phi = magnetisation_theta_phi_deg
    common = dict(kpoints=bandpath.kpts, cell=np.array(atoms.cell), symbols=atoms.get_chemical_symbols(),
                  positions=atoms.get_positions(), path_labels=labels, code="gpaw",
                  code_version=_gpaw_version(), inputs_hash=_file_hash_short(gpw_path))
    if soc:
        soc_path = soc_eigenstates(calc, theta=theta, phi=phi)
        soc_mesh = soc_eigenstates(gs, theta=theta, phi=phi)
        eig = soc_path.eigenvalues()[np.newaxis]
        spins = soc_path.spin_projections()
        return BandStructure(eigenvalues=eig, fermi_level=float(soc_mesh.fermi_level), soc=True,
                             spin_expectation=spins, **common)
    nspins = calc.get_number_of_spins()
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(len(bandpath.kpts))]
                    for s in range(nspins)])
    return BandStructure(eigenvalues=eig, fermi_level=float(gs.get_fermi_level()), soc=False, **common)


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
                         magmoms=magmoms, code="gpaw", code_version=_gpaw_version(),
                         source=str(gpw_path))


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

def _path_labels(bandpath) -> list[tuple[int, str]]:
    _, xspecial, labels = bandpath.get_linear_kpoint_axis()
    x, _, _ = bandpath.get_linear_kpoint_axis()
    out = []
    for xs, lab in zip(xspecial, labels):
        idx = int(np.argmin(np.abs(x - xs)))
        out.append((idx, "G" if lab in ("G", "Γ") else lab))
    return out


def _gpaw_version() -> str:
    import gpaw

    return gpaw.__version__


def _file_hash_short(path) -> str:
    from isingflow.provenance import hash_file

    return hash_file(path)[:16]


def _atoms_fingerprint(atoms: Atoms) -> dict:
    return {"numbers": atoms.numbers.tolist(), "positions": np.round(atoms.positions, 6).tolist(),
            "cell": np.round(np.array(atoms.cell), 6).tolist(), "pbc": atoms.pbc.tolist(),
            "magmoms": np.round(atoms.get_initial_magnetic_moments(), 4).tolist()}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "todict"):
        return {"name": type(obj).__name__, **_jsonable(obj.todict())}
    return repr(obj)
