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
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from isingflow.dft.bandfile import BandStructure
from isingflow.dft.gpaw.magnetic import (
    MagneticMomentCriterion,
    MomentHistory,
    check_moments_converged,
    layer_slab_moments,
    moment_history,
    seed_moments,
    seeded_atoms,
    watched_sites,
)
from isingflow.dft.gpaw.read import collinear_projections, gpaw_version
from isingflow.dft.kpoints import kpoint_mesh
from isingflow.provenance import atomic_path, hash_object, jsonable, provenance, read_json, write_json


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
    spin-polarised when any initial magnetic moment of ``atoms`` is non-zero.  Two keys only the
    convergence studies set: ``kpts_in_plane`` (an explicit n × n × 1 mesh instead of the k-point
    density) and ``fixed_moment`` (the total moment fixed at the sum of the initial moments).
    """
    from gpaw import PW, FermiDirac

    mode = settings["mode"]
    n_in_plane = settings.get("kpts_in_plane")   # convergence series: an explicit n × n × 1 mesh
    size = (int(n_in_plane), int(n_in_plane), 1) if n_in_plane else tuple(
        kpoint_mesh(atoms, settings["kpt_density_per_inv_angstrom"]))
    params: dict[str, Any] = {
        "xc": xc,
        "kpts": {"size": size, "gamma": True},
        # fixed_moment: the total moment stays at the initial one (separate Fermi levels per spin)
        "occupations": FermiDirac(settings["smearing_eV"], fixmagmom=bool(settings.get("fixed_moment"))),
        # GPAW's energy criterion is per valence electron unless relative=False: ours is in eV
        "convergence": {"energy": {"name": "energy", "tol": settings["scf_energy_tol_eV"], "n_old": 3,
                                   "relative": False},
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
    if params["spinpol"]:
        params["mixer"] = magnetic_mixer(settings)
    if hubbard_u_eV:
        params["setups"] = {el: f":d,{u}" for el, u in hubbard_u_eV.items()}
    if dipole_correction and not all(atoms.pbc):
        params["poissonsolver"] = {"dipolelayer": "xy"}
    return params


def magnetic_mixer(settings: dict[str, Any]) -> dict[str, Any]:
    """GPAW mixer of a spin-polarised run: Pulay mixing of the total density and the magnetisation.

    GPAW ≥ 25 (the "new" code this project builds) always mixes a collinear density as total +
    magnetisation (``gpaw.mixer.base.BaseMixer.mix``); the old ``MixerSum``/``MixerDif`` names
    only set a ``method`` that it drops.  What makes the induced moment converge is therefore the
    moment criterion and the seeds (:mod:`isingflow.dft.gpaw.magnetic`, docs/dft.md), not the
    mixer's name; ``mixer_beta`` sets the Pulay step.
    """
    return {"backend": "pulay", "beta": settings.get("mixer_beta") or 0.05, "nmaxold": 5, "weight": 50.0}


def run_ground_state(atoms: Atoms, settings: dict[str, Any], gpw_path: str | os.PathLike,
                     txt: str | os.PathLike | None = "-", xc: str = "PBE",
                     hubbard_u_eV: dict[str, float] | None = None,
                     dipole_correction: bool | None = None,
                     cache_dir: str | os.PathLike | None = None,
                     mesh_bands_path: str | os.PathLike | None = None,
                     atom_layers: list[int] | None = None,
                     restart_from: tuple[str | os.PathLike, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Self-consistent ground state of ``atoms``; writes the ``.gpw`` restart file.

    With ``cache_dir``, every converged ``.gpw`` is also kept there under the hash of its
    inputs (structure + GPAW parameters); a later call with the same inputs (e.g. after the
    job was killed and Snakemake removed its incomplete outputs) reloads it instead of
    repeating the SCF.  An unconverged SCF raises :class:`SCFNotConverged`.

    With ``mesh_bands_path`` the eigenvalues on the irreducible SCF k-mesh, with their weights
    and per-atom projections (and ``atom_layers``), are written as a normalised band file: enough
    for Fermi-surface averages (e.g. λex of every variant of an ensemble) without a band job.

    With ``restart_from`` = (converged neighbour's ``.gpw``, its ``gpaw_parameters``) the SCF of
    the + seed starts from the neighbour's LCAO coefficients moved with the atoms
    (:mod:`isingflow.dft.gpaw.restart`), under the same criteria and the same moment gate; where
    that would not be the same calculation it starts from scratch.  ``restart`` records which.

    Returns a summary: total energy (eV), Fermi level (eV), total and per-atom (PAW-sphere)
    magnetic moments (µB), with ``atom_layers`` the moment of every layer integrated over its slab
    (``layer_moments_muB``), k-mesh, the number of SCF iterations and the inputs' hash.
    """
    gpw_path = Path(gpw_path)
    seeds = settings.get("seed_moments_muB") or {}
    signs = (+1, -1) if seeded_atoms(atoms, seeds) and settings.get("seed_both_signs", True) else (+1,)
    best: _Solution | None = None
    solutions = []
    for sign in signs:
        txt_s = txt if sign == signs[0] or txt in (None, "-") else f"{txt}.seed-minus"
        sol = _solve(seed_moments(atoms, seeds, sign) if seeds else atoms, sign, settings, cache_dir, txt_s,
                     restart_from if sign == +1 else None,
                     xc=xc, hubbard_u_eV=hubbard_u_eV, dipole_correction=dipole_correction)
        solutions.append(sol.record())
        if best is None or sol.energy_eV < best.energy_eV:
            best = sol
    calc = best.calc
    if mesh_bands_path is not None:
        from isingflow.dft.bandfile import write_bands

        write_bands(mesh_bands_path, _mesh_bands(calc, atom_layers, best.inputs_hash, best.reused))
    if best.cached is not None:
        _link_or_copy(best.cached, gpw_path)
    else:
        _write_gpw(calc, gpw_path, best.params)
    magnetic = {"seed_solutions": solutions, "seed_sign_kept": best.sign, "restart": best.restart,
                "moment_history": asdict(best.history) if best.history is not None else None,
                "layer_moments_muB": (layer_slab_moments(calc, atom_layers)
                                      if best.params["spinpol"] and atom_layers is not None else None)}
    return {**_vacuum_summary(calc), **_scf_summary(calc, best.params, best.energy_eV, best.reused),
            **magnetic, "inputs_hash": best.inputs_hash, "gpaw_parameters": jsonable(best.params)}


@dataclass
class _Solution:
    """One converged SCF (one sign of the seeds): the calculator and what ``gs.json`` records of it."""

    calc: Any
    energy_eV: float
    reused: bool
    sign: int
    params: dict[str, Any]
    inputs_hash: str
    cached: Path | None
    history: MomentHistory | None
    restart: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        magmoms = self.calc.get_magnetic_moments() if self.params["spinpol"] else []
        return {"seed_sign": self.sign, "energy_eV": float(self.energy_eV), "inputs_hash": self.inputs_hash[:16],
                "magmom_total_muB": float(self.calc.get_magnetic_moment()) if self.params["spinpol"] else 0.0,
                "magmoms_muB": [round(float(m), 6) for m in magmoms], "reused_converged_gpw": self.reused,
                "restart": self.restart}


def _solve(atoms: Atoms, sign: int, settings: dict[str, Any], cache_dir, txt, restart_from=None,
           **physics) -> _Solution:
    """A converged SCF of ``atoms`` (already seeded): new, or the cached one of the same inputs."""
    params = gpaw_parameters(atoms, settings, **physics)
    tol = settings.get("scf_magmom_tol_muB")
    key = {"atoms": _atoms_fingerprint(atoms), "params": jsonable(params)}
    if params["spinpol"] and tol:
        key["magmom_tol_muB"] = float(tol)
    inputs_hash = hash_object(key)
    cached = Path(cache_dir) / f"gs-{inputs_hash[:20]}.gpw" if cache_dir is not None else None
    criterion = MagneticMomentCriterion(tol) if params["spinpol"] and tol else None
    calc, energy, reused, restart = _converged_calculator(atoms, params, settings, cached, txt, criterion,
                                                          restart_from)
    history = _moment_history(calc, atoms, settings, criterion, cached, reused)
    return _Solution(calc, energy, reused, sign, params, inputs_hash, cached, history, restart)


def _moment_history(calc, atoms: Atoms, settings, criterion, cached: Path | None, reused: bool):
    """The moment history of a fresh SCF (kept beside the cached ``.gpw``), or the cached one; gated."""
    sidecar = cached.with_suffix(".moments.json") if cached is not None else None
    if reused:
        return MomentHistory(**read_json(sidecar)) if sidecar is not None and sidecar.is_file() else None
    if criterion is None:
        return None
    watch = watched_sites(atoms.get_chemical_symbols(), calc.get_magnetic_moments(),
                          seeded_atoms(atoms, settings.get("seed_moments_muB")))
    history = moment_history(criterion, atoms.get_chemical_symbols(), watch)
    check_moments_converged(history)
    if sidecar is not None:
        write_json(sidecar, asdict(history))
    return history


def _converged_calculator(atoms: Atoms, params: dict[str, Any], settings: dict[str, Any], cached: Path | None,
                          txt, criterion=None, restart_from=None) -> tuple[Any, float, bool, dict | None]:
    """(calculator, energy in eV, reused, restart record): the cached converged ``.gpw`` when there
    is one, else an SCF, from the neighbour of ``restart_from`` where that is the same calculation.

    ``criterion`` (a :class:`MagneticMomentCriterion`) is added to GPAW's convergence criteria.
    """
    from gpaw import GPAW, KohnShamConvergenceError

    txt = str(txt) if txt is not None else None
    if cached is not None and cached.is_file():
        calc = GPAW(str(cached), txt=txt)
        return calc, calc.get_potential_energy(), True, None
    atoms = atoms.copy()
    convergence = dict(params["convergence"])
    if criterion is not None:
        convergence["custom"] = [criterion]
    with warnings.catch_warnings():  # GPAW warns that a custom criterion is not stored in .gpw files
        warnings.filterwarnings("ignore", message="Custom convergence criterion")
        restart = None
        if restart_from is not None:
            from isingflow.dft.gpaw.restart import restarted_calculator, set_convergence

            restart = restarted_calculator(restart_from[0], restart_from[1], atoms, params, txt=txt)
            if restart.used:
                set_convergence(restart.calc, convergence, params["maxiter"])
                atoms = restart.calc.get_atoms().copy()   # the moved atoms: no change left to detect
        calc = restart.calc if restart is not None and restart.used else GPAW(
            txt=txt, **{**params, "convergence": convergence})
        atoms.calc = calc
        try:
            energy = atoms.get_potential_energy()
        except KohnShamConvergenceError as exc:
            raise SCFNotConverged(
                f"GPAW SCF did not converge in {settings['maxiter']} iterations (energy tol "
                f"{settings['scf_energy_tol_eV']} eV, density tol {settings['scf_density_tol']}, moment tol "
                f"{settings.get('scf_magmom_tol_muB')} µB): {exc}") from exc
    if cached is not None:
        _write_gpw(calc, cached, params)
    return calc, energy, False, restart.record() if restart is not None else None


def _write_gpw(calc, path, params: dict[str, Any]) -> None:
    """Write a converged ``.gpw`` atomically; LCAO files keep their wave functions (a few MB of
    coefficients), so that a neighbouring registry can restart from them."""
    with atomic_path(path) as tmp:
        calc.write(str(tmp), mode="all" if params.get("mode") == "lcao" else "")


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
    # the SCF's own IBZ weights: a fixed-density recalculation on the explicit IBZ points (symmetry
    # off) would weight them uniformly, which is wrong for Fermi-surface averages
    weights = np.asarray(calc.get_k_point_weights())
    if reloaded:  # a reloaded .gpw holds no wave functions: recompute them on the fixed density
        calc = calc.fixed_density(kpts=calc.get_ibz_k_points(), symmetry="off", txt=None)
    atoms = calc.get_atoms()
    ibz = calc.get_ibz_k_points()
    nspins = calc.get_number_of_spins()
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(len(ibz))] for s in range(nspins)])
    proj = collinear_projections(calc, nspins, len(ibz), len(atoms))
    return BandStructure(eigenvalues=eig, kpoints=ibz, fermi_level=float(calc.get_fermi_level()),
                         weights=weights, cell=np.array(atoms.cell),
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


