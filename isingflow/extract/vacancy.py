"""Se vacancy (V_Se) in an N×N×1 NbSe2 supercell: spin density, radial profile and R_d.

Paper (Wickramaratne et al., PRB 104, L060501): a 10×10×1 supercell (300 atoms) carries
≈ 0.6 µB; the spin density is sign-changing ("reminiscent of Friedel oscillations") and extends
over R_d ~ 15 Å, which the paper itself calls commensurate with its supercell (Fig. 3a).

Definitions used here (units in the names; lengths in Å, moments in µB; the same, with the
reasons, in ``docs/extraction.md``, section "Se vacancy").  The settings are the ``vacancy``
section of the config, with every default filled in from ``workflow/schemas/vacancy.schema.yaml``:

* spin density ``m(r) = n↑(r) − n↓(r)`` on the real-space grid of the converged ``.gpw``
  (all-electron density by default, GPAW ``get_all_electron_density``, or the pseudo density),
  in µB/Å³; without spin–orbit coupling the global sign is arbitrary, so with ``orient_positive``
  m is multiplied by −1 when M < 0 (recorded as ``spin_orientation_flipped``);
* total moment ``M = ∫ m dV`` and absolute moment ``|M| = ∫ |m| dV`` over the supercell;
* columns: ``σ(x, y) = ∫ m dz`` over the whole cell (µB/Å²) and ``σ_abs(x, y) = ∫ |m| dz``;
  the Nb-plane map is ``σ_Nb(x, y) = ∫ m dz`` over the slab |z − z_Nb| ≤ ``plane_half_width``;
* ``r``: in-plane distance of a grid column from the vacancy site (minimum image in the
  periodic supercell); annuli of width ``bin_width`` give the moment per annulus, the annular
  mean of σ (µB/Å²; the annulus area is the area of the grid columns inside it, so the annuli
  cut by the Wigner–Seitz cell are handled) and cumulative integrals, which reach M and |M| at
  the largest r;
* ``R_d`` (reported as ``R_d_angstrom``): the in-plane radius of the cylinder around the vacancy
  that encloses ``abs_fraction`` (90 %) of the absolute moment ∫|m| dV (exact on the grid:
  columns sorted by r).  For an exponential areal density e^{−r/ξ} in an infinite plane,
  R_90 = 3.89 ξ;
* ``R_d_exp_angstrom``: the 1/e length ξ of a least-squares fit ln⟨σ_abs⟩(r) = ln A − r/ξ of the
  annular means over complete annuli with r ≥ ``fit_r_min``;
* sign changes: zero crossings of the annular mean of σ(r) (full column and Nb slab) over the
  complete annuli, skipping annuli whose |mean| is below ``sign_threshold`` × the largest; and,
  over the whole cell, sign changes between consecutive shells of GPAW's Nb atomic moments;
* the supercell limit: annuli are complete up to the inradius r_in of the Wigner–Seitz cell
  (L/2 for the hexagonal N×N cell of length L = N·a).  A uniform |m| over the hexagonal cell
  already gives R_90 ≈ 0.497 L (the inscribed disc holds 90.7 % of the hexagon), so R_d is
  flagged as limited by the supercell when R_d ≥ r_in or R_d ≥ ``limit_fraction_of_uniform``
  (0.9) × the uniform value (≈ 0.45 L): the density then fills the cell and R_d is a lower
  bound of the isolated vacancy's value, or a periodic-image artefact.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from isingflow.extract.errors import PhysicsGateError
from isingflow.extract.radial import (
    RadialProfile,
    atomic_shells,
    column_distances,
    enclosing_radius,
    exponential_decay_length,
    inradius_2d,
    minimum_image_xy,
    radial_profile,
    shell_sign_changes,
    sign_changes,
)
from isingflow.extract.spin_density import SpinDensity, column_density, integrated_moments, load_spin_density
from isingflow.provenance import atomic_path


def vacancy_geometry(manifest: dict, variant: str = "base") -> dict[str, Any]:
    """Vacancy position, supercell N and the reference plane height from the structures manifest."""
    v = manifest["variants"][variant]
    vac = v.get("vacancy")
    if vac is None:
        raise ValueError(f"manifest of {manifest.get('system')}: variant {variant!r} has no vacancy record")
    layer = v["layers"][vac.get("layer", 0)]
    return {"vacancy_position_angstrom": [float(x) for x in vac["position_angstrom"]],
            "vacancy_element": vac.get("element"),
            "neighbours": list(vac.get("neighbours_after_removal", [])),
            "supercell_N": int(v.get("supercell_n", 0)) or None,
            "plane_element": layer.get("plane_element", "Nb"),
            "plane_z_angstrom": float(layer["plane_z_angstrom"]),
            "cell_angstrom": v["cell_angstrom"]}


# ---------------------------------------------------------------------------------------------
# the whole analysis
class VacancyParameters(TypedDict):
    """The vacancy record of ``results/parameters/<system>.json`` (without the rule's own keys)."""

    vacancy_moment_muB: float
    vacancy_abs_moment_muB: float
    vacancy_positive_moment_muB: float
    vacancy_negative_moment_muB: float
    gpaw_total_moment_muB: float | None
    spin_orientation_flipped: bool
    moment_grid_minus_gpaw_muB: float | None
    R_d_angstrom: float
    R_d_nb_slab_angstrom: float
    R_d_uniform_reference_angstrom: float
    R_d_exp_angstrom: float | None
    R_d_exp_stderr_angstrom: float | None
    R_d_exp_fit: dict[str, Any]
    R_d_limited_by_supercell: bool
    R_d_status: str                   # "resolved" or "limited by the cell: <why>"
    R_d_resolved_angstrom: float | None   # R_d when resolved by this cell, else None
    moment_vanished: bool
    supercell_N: int | None
    supercell_length_angstrom: float
    r_inscribed_angstrom: float
    vacancy_position_angstrom: list[float]
    plane_z_angstrom: float
    plane_half_width_angstrom: float
    nb_slab_moment_muB: float
    sign_changes_radii_angstrom: list[float]
    n_sign_changes: int
    sign_changes_nb_slab_radii_angstrom: list[float]
    n_sign_changes_nb_slab: int
    sign_changes_atomic_shells_angstrom: list[float]
    density: str
    grid_shape: list[int]
    radial_profile: dict[str, list]
    radial_profile_nb_slab: dict[str, list]
    plane_atoms: dict[str, Any] | None
    notes: list[str]


@dataclass
class VacancyMaps:
    """The column-density maps on the grid columns (µB/Å²), for Fig. 3a and ``maps.npz``."""

    sigma_nb: np.ndarray            # ∫ m dz over the Nb slab
    sigma: np.ndarray               # ∫ m dz over the cell
    r: np.ndarray                   # in-plane distance of each column from the vacancy (Å)
    cell: np.ndarray                # Å
    positions: np.ndarray | None = None
    symbols: list[str] = field(default_factory=list)


@dataclass
class VacancyAnalysis:
    """:func:`analyse_spin_density`'s result: the JSON record and the grid maps."""

    parameters: VacancyParameters
    maps: VacancyMaps


def _oriented(sd: SpinDensity, s: dict[str, Any]) -> tuple[SpinDensity, dict[str, float], bool]:
    """The moments of ``sd`` (gate: they must match GPAW's) and ``sd`` with M ≥ 0 when ``orient_positive``."""
    mom = integrated_moments(sd)
    tol = float(s["moment_tolerance_muB"])
    if sd.gpaw_moment_muB is not None and abs(mom["total_muB"] - sd.gpaw_moment_muB) > tol:
        raise PhysicsGateError(f"the grid spin density integrates to {mom['total_muB']:.4f} µB but GPAW's total "
                               f"moment is {sd.gpaw_moment_muB:.4f} µB (tolerance {tol} µB): the density "
                               "on the grid is not the converged one")
    flipped = bool(s["orient_positive"]) and mom["total_muB"] < 0
    if flipped:
        # collinear, no SOC: n↑ ↔ n↓ is a symmetry, the sign of M is arbitrary; report M ≥ 0
        sd = replace(sd, m=-sd.m,
                     gpaw_moment_muB=None if sd.gpaw_moment_muB is None else -sd.gpaw_moment_muB,
                     gpaw_magmoms_muB=None if sd.gpaw_magmoms_muB is None else -sd.gpaw_magmoms_muB)
        mom = integrated_moments(sd)
    return sd, mom, flipped


@dataclass
class _Columns:
    """Column densities of the cell and the Nb slab, their distances and radial profiles."""

    r: np.ndarray
    r_in: float
    sigma: np.ndarray
    sigma_abs: np.ndarray
    sigma_nb: np.ndarray
    sigma_nb_abs: np.ndarray
    prof: RadialProfile
    prof_nb: RadialProfile
    fit_prof: RadialProfile


def _columns(sd: SpinDensity, vacancy_xyz, plane_z: float, s: dict[str, Any]) -> _Columns:
    r = column_distances(sd.cell, sd.shape[:2], vacancy_xyz)
    r_in = inradius_2d(sd.cell)
    hw = float(s["plane_half_width_angstrom"])
    sigma, sigma_abs = column_density(sd), column_density(sd, absolute=True)
    sigma_nb, sigma_nb_abs = column_density(sd, plane_z, hw), column_density(sd, plane_z, hw, absolute=True)
    bw = float(s["bin_width_angstrom"])
    return _Columns(r=r, r_in=r_in, sigma=sigma, sigma_abs=sigma_abs, sigma_nb=sigma_nb, sigma_nb_abs=sigma_nb_abs,
                    prof=radial_profile(sigma, sigma_abs, r, sd.column_area, bw, r_in),
                    prof_nb=radial_profile(sigma_nb, sigma_nb_abs, r, sd.column_area, bw, r_in),
                    fit_prof=radial_profile(sigma, sigma_abs, r, sd.column_area, float(s["fit_bin_width_angstrom"]),
                                            r_in))


def _plane_atoms(sd: SpinDensity, vacancy_xyz, plane_element: str, total_muB: float,
                 threshold: float) -> dict[str, Any] | None:
    """GPAW's atomic moments of the plane's atoms by distance from the vacancy, grouped in shells."""
    if sd.positions is None or sd.gpaw_magmoms_muB is None:
        return None
    sel = [i for i, el in enumerate(sd.symbols) if el == plane_element]
    d = np.linalg.norm(minimum_image_xy(sd.positions[sel, :2] - np.asarray(vacancy_xyz)[:2], sd.cell), axis=-1)
    order = np.argsort(d, kind="stable")
    mm = sd.gpaw_magmoms_muB[sel]
    shells_d, shells_m, shells_n = atomic_shells(d, mm)
    return {"element": plane_element, "index": [sel[i] for i in order],
            "distance_angstrom": d[order], "moment_muB": mm[order],
            "shell_distance_angstrom": shells_d, "shell_mean_moment_muB": shells_m, "shell_count": shells_n,
            "sign_changes_between_shells_angstrom": shell_sign_changes(shells_d, shells_m, threshold),
            "sum_muB": float(mm.sum()),
            "n_antiparallel_to_total": int(np.sum(np.sign(mm) == -np.sign(total_muB)) if total_muB != 0 else 0)}


def _notes(s: dict[str, Any], total_muB: float, vanished: bool, limited: bool, R90: float, R90_uniform: float,
           r_in: float, fit: dict[str, Any]) -> list[str]:
    notes = []
    if vanished:
        notes.append(f"|M| = {abs(total_muB):.3f} µB < {s['vanished_moment_muB']} µB: the supercell converged "
                     "to a (nearly) non-magnetic solution; R_d then describes residual/noise spin density")
    if limited:
        notes.append(f"R_d = {R90:.2f} Å is limited by the supercell: ≥ {float(s['limit_fraction_of_uniform']):g} × "
                     f"{R90_uniform:.2f} Å (the value for |m| spread uniformly over the cell) or ≥ r_in = "
                     f"{r_in:.2f} Å (half the supercell length); the spin density fills the supercell and R_d is a "
                     "lower bound at best")
    xi = fit["xi_angstrom"]
    if xi is not None and xi >= r_in:
        notes.append(f"the fitted decay length ξ = {xi:.2f} Å ≥ r_in = {r_in:.2f} Å: "
                     "not resolved by the supercell")
    if not fit["decays"]:
        notes.append(f"no exponential decay length: {fit.get('reason')}")
    return notes


def r_d_status(R90: float, limited: bool, fit: dict[str, Any], r_in: float, max_xi_fraction: float) -> str:
    """Whether one cell resolves R_d: R_d itself not limited (:data:`limited`), and an exponential
    envelope whose decay length ξ is at most ``max_xi_fraction`` × r_in (it has decayed well before
    the cell edge).  Returns "resolved" or "limited by the cell: <the failed condition>"."""
    xi = fit.get("xi_angstrom")
    if not np.isfinite(R90):
        return "limited by the cell: no R_d (no spin density)"
    if limited:
        return f"limited by the cell: R_d = {R90:.2f} Å fills the cell (r_in = {r_in:.2f} Å)"
    if not fit.get("decays") or xi is None:
        return f"limited by the cell: no exponential envelope ({fit.get('reason')})"
    if xi > max_xi_fraction * r_in:
        return f"limited by the cell: ξ = {xi:.2f} Å > {max_xi_fraction:g} × r_in = {max_xi_fraction * r_in:.2f} Å"
    return "resolved"


def analyse_spin_density(sd: SpinDensity, vacancy_xyz, plane_z: float, settings: dict[str, Any],
                         supercell_N: int | None = None, plane_element: str = "Nb") -> VacancyAnalysis:
    """Every vacancy quantity from a spin density.

    ``settings``: the ``vacancy`` section of a validated config (every key of
    ``workflow/schemas/vacancy.schema.yaml`` present).  Arrays of the record are NumPy arrays
    or lists; :func:`isingflow.provenance.write_json` writes them.
    """
    s = settings
    sd, mom, flipped = _oriented(sd, s)
    c = _columns(sd, vacancy_xyz, plane_z, s)
    frac = float(s["abs_fraction"])
    R90 = enclosing_radius(c.sigma_abs, c.r, frac)
    R90_uniform = enclosing_radius(np.ones_like(c.r), c.r, frac)
    limited = bool(np.isfinite(R90) and (R90 >= c.r_in or R90 >= float(s["limit_fraction_of_uniform"]) * R90_uniform))
    complete = c.fit_prof.complete
    fit = exponential_decay_length(c.fit_prof.r_center[complete], c.fit_prof.mean_abs_areal_density[complete],
                                   float(s["fit_r_min_angstrom"]), c.r_in)
    status = r_d_status(R90, limited, fit, c.r_in, float(s["decay_length_max_fraction_of_r_in"]))
    thr = float(s["sign_threshold"])
    comp = c.prof.complete
    sc_col = sign_changes(c.prof.r_center[comp], c.prof.mean_areal_density[comp], thr)
    sc_nb = sign_changes(c.prof_nb.r_center[comp], c.prof_nb.mean_areal_density[comp], thr)
    vanished = abs(mom["total_muB"]) < float(s["vanished_moment_muB"])
    atoms_info = _plane_atoms(sd, vacancy_xyz, plane_element, mom["total_muB"], thr)
    params = VacancyParameters(
        vacancy_moment_muB=mom["total_muB"], vacancy_abs_moment_muB=mom["abs_muB"],
        vacancy_positive_moment_muB=mom["positive_muB"], vacancy_negative_moment_muB=mom["negative_muB"],
        gpaw_total_moment_muB=sd.gpaw_moment_muB, spin_orientation_flipped=flipped,
        moment_grid_minus_gpaw_muB=(mom["total_muB"] - sd.gpaw_moment_muB if sd.gpaw_moment_muB is not None else None),
        R_d_angstrom=R90, R_d_nb_slab_angstrom=enclosing_radius(c.sigma_nb_abs, c.r, frac),
        R_d_uniform_reference_angstrom=R90_uniform,
        R_d_exp_angstrom=fit["xi_angstrom"], R_d_exp_stderr_angstrom=fit["xi_stderr_angstrom"], R_d_exp_fit=fit,
        R_d_limited_by_supercell=limited, R_d_status=status,
        R_d_resolved_angstrom=R90 if status == "resolved" else None,
        moment_vanished=bool(vanished), supercell_N=supercell_N,
        supercell_length_angstrom=float(np.linalg.norm(sd.cell[0])), r_inscribed_angstrom=c.r_in,
        vacancy_position_angstrom=[float(x) for x in vacancy_xyz], plane_z_angstrom=float(plane_z),
        plane_half_width_angstrom=float(s["plane_half_width_angstrom"]),
        nb_slab_moment_muB=float(c.sigma_nb.sum() * sd.column_area),
        sign_changes_radii_angstrom=sc_col, n_sign_changes=len(sc_col),
        sign_changes_nb_slab_radii_angstrom=sc_nb, n_sign_changes_nb_slab=len(sc_nb),
        sign_changes_atomic_shells_angstrom=(atoms_info or {}).get("sign_changes_between_shells_angstrom", []),
        density=sd.kind, grid_shape=list(sd.shape),
        radial_profile=c.prof.to_dict(), radial_profile_nb_slab=c.prof_nb.to_dict(), plane_atoms=atoms_info,
        notes=_notes(s, mom["total_muB"], vanished, limited, R90, R90_uniform, c.r_in, fit))
    maps = VacancyMaps(sigma_nb=c.sigma_nb, sigma=c.sigma, r=c.r, cell=sd.cell, positions=sd.positions,
                       symbols=sd.symbols)
    return VacancyAnalysis(parameters=params, maps=maps)


def load_manifest(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text())


def analyse_gpw(gpw_path: str | os.PathLike, manifest: dict, settings: dict[str, Any],
                variant: str = "base") -> VacancyAnalysis:
    """:func:`analyse_spin_density` of a ``.gpw`` with the vacancy geometry of ``manifest``.

    ``settings``: the validated ``vacancy`` config section (see :func:`analyse_spin_density`).
    """
    geo = vacancy_geometry(manifest, variant)
    sd = load_spin_density(gpw_path, settings["density"], int(settings["gridrefinement"]))
    return analyse_spin_density(sd, geo["vacancy_position_angstrom"], geo["plane_z_angstrom"], settings,
                                supercell_N=geo["supercell_N"], plane_element=geo["plane_element"])


PAPER_VALUES = {"vacancy_moment_muB": 0.6, "R_d_angstrom": 15.0, "supercell_N": 10,
                "note": "PRB 104, L060501: ≈0.6 µB in a 10×10×1 (300-atom) supercell; length ~15 Å, "
                        "'commensurate with the in-plane lattice constant of our large supercell'"}
"""The paper's vacancy numbers, recorded beside ours in the vacancy JSON."""
_GS_KEYS = ("energy_eV", "fermi_level_eV", "magmom_total_muB", "kpts_size", "scf_iterations", "spin_polarized")


def vacancy_record(analysis: VacancyAnalysis, gs: dict, system: str, profile: str) -> dict[str, Any]:
    """The vacancy JSON (without provenance): the analysis, the DFT ground state's summary and the paper's values."""
    return {"system": system, "profile": profile, **analysis.parameters,
            "dft_ground_state": {k: gs.get(k) for k in _GS_KEYS}, "paper": PAPER_VALUES}


def write_maps(path: str | os.PathLike, analysis: VacancyAnalysis) -> None:
    """The column-density maps as ``maps.npz`` (µB/Å², Å), atomically."""
    maps = analysis.maps
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, sigma_nb_muB_per_angstrom2=maps.sigma_nb, sigma_muB_per_angstrom2=maps.sigma,
                            r_angstrom=maps.r, cell_angstrom=maps.cell,
                            vacancy_position_angstrom=np.array(analysis.parameters["vacancy_position_angstrom"]))
