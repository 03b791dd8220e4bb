"""Se-vacancy (V_Se) in an N×N×1 NbSe2 supercell: spin density, radial profile and R_d.

Paper (Wickramaratne et al., PRB 104, L060501): a 10×10×1 supercell (300 atoms) carries
≈ 0.6 µB; the spin density is sign-changing ("reminiscent of Friedel oscillations") and extends
over R_d ~ 15 Å, which the paper itself calls commensurate with its supercell (Fig. 3a).

Definitions used here (units in the names; lengths in Å, moments in µB):

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
from typing import Any

import numpy as np

from isingflow.extract import PhysicsGateError

DEFAULTS: dict[str, Any] = {
    "system": "NbSe2-VSe",
    "density": "all-electron",      # all-electron | pseudo
    "gridrefinement": 1,            # all-electron density on a 1× or 2× finer grid
    "plane_element": "Nb",
    "plane_half_width_angstrom": 1.0,
    "bin_width_angstrom": 0.5,
    "abs_fraction": 0.9,
    "fit_bin_width_angstrom": 1.0,
    "fit_r_min_angstrom": 1.0,
    "sign_threshold": 0.02,
    "moment_tolerance_muB": 0.05,
    "vanished_moment_muB": 0.05,
    "limit_fraction_of_uniform": 0.9,
    "orient_positive": True,
    "figure": {"tiles": 3, "color_scale": "symlog", "linthresh_fraction": 0.01},
}


def vacancy_settings(config: dict | None) -> dict[str, Any]:
    """The ``vacancy`` section of the config with every default filled in (section optional)."""
    section = dict((config or {}).get("vacancy") or {})
    out = {**DEFAULTS, **section}
    out["figure"] = {**DEFAULTS["figure"], **(section.get("figure") or {})}
    return out


# ---------------------------------------------------------------------------------------------
# spin density on the grid
@dataclass
class SpinDensity:
    """m(r) = n↑ − n↓ (µB/Å³) on a grid over ``cell``; point (i, j, k) at fractional (i/n1, j/n2, k/n3)."""

    m: np.ndarray
    cell: np.ndarray
    kind: str = "all-electron"
    gpaw_moment_muB: float | None = None
    gpaw_magmoms_muB: np.ndarray | None = None
    positions: np.ndarray | None = None
    symbols: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.m.shape)  # type: ignore[return-value]

    @property
    def dv(self) -> float:
        return float(abs(np.linalg.det(self.cell)) / np.prod(self.m.shape))

    @property
    def dz(self) -> float:
        return float(self.cell[2, 2] / self.m.shape[2])

    @property
    def column_area(self) -> float:
        """Area (Å²) of one grid column in the xy plane."""
        return float(abs(np.linalg.det(self.cell[:2, :2])) / (self.m.shape[0] * self.m.shape[1]))

    def z_coords(self) -> np.ndarray:
        return np.arange(self.m.shape[2]) * self.dz


def load_spin_density(gpw_path: str | os.PathLike, density: str = "all-electron",
                      gridrefinement: int = 1) -> SpinDensity:
    """The spin density of a converged ``.gpw``; :class:`PhysicsGateError` if not spin-polarised."""
    from gpaw import GPAW

    calc = GPAW(str(gpw_path), txt=None)
    nspins = calc.get_number_of_spins()
    if nspins != 2:
        raise PhysicsGateError(f"{gpw_path}: the calculation is not spin-polarised (nspins = {nspins}); "
                               "the vacancy moment needs a spin-polarised ground state (initial moments "
                               "on the Nb neighbours of the vacancy)")
    if density == "all-electron":
        up = calc.get_all_electron_density(spin=0, gridrefinement=gridrefinement)
        down = calc.get_all_electron_density(spin=1, gridrefinement=gridrefinement)
    elif density == "pseudo":
        up = calc.get_pseudo_density(spin=0)
        down = calc.get_pseudo_density(spin=1)
    else:
        raise ValueError(f"density: {density!r} (all-electron or pseudo)")
    atoms = calc.get_atoms()
    return SpinDensity(m=np.asarray(up - down, dtype=float), cell=np.array(atoms.cell), kind=density,
                       gpaw_moment_muB=float(calc.get_magnetic_moment()),
                       gpaw_magmoms_muB=np.asarray(calc.get_magnetic_moments(), dtype=float),
                       positions=atoms.get_positions(), symbols=atoms.get_chemical_symbols())


def integrated_moments(sd: SpinDensity) -> dict[str, float]:
    """M = ∫m dV, |M| = ∫|m| dV, and the positive and negative parts (µB)."""
    dv = sd.dv
    return {"total_muB": float(sd.m.sum() * dv), "abs_muB": float(np.abs(sd.m).sum() * dv),
            "positive_muB": float(np.clip(sd.m, 0, None).sum() * dv),
            "negative_muB": float(np.clip(sd.m, None, 0).sum() * dv)}


def slab_mask(sd: SpinDensity, z0: float, half_width: float) -> np.ndarray:
    """Grid planes with |z − z0| ≤ half_width (z periodic with the cell)."""
    lz = sd.cell[2, 2]
    dz = (sd.z_coords() - z0 + 0.5 * lz) % lz - 0.5 * lz
    mask = np.abs(dz) <= half_width + 1e-9
    if not mask.any():
        mask[int(np.argmin(np.abs(dz)))] = True
    return mask


def column_density(sd: SpinDensity, z0: float | None = None, half_width: float | None = None,
                   absolute: bool = False) -> np.ndarray:
    """σ(x, y) = ∫ m dz (µB/Å²) over the cell, or over the slab |z − z0| ≤ half_width."""
    m = np.abs(sd.m) if absolute else sd.m
    if z0 is not None and half_width is not None:
        m = m[:, :, slab_mask(sd, z0, half_width)]
    return m.sum(axis=2) * sd.dz


def plane_cut(sd: SpinDensity, z0: float) -> np.ndarray:
    """m(x, y, z0) (µB/Å³), linear interpolation between the two nearest grid planes."""
    n3 = sd.shape[2]
    t = z0 / sd.dz
    k0 = int(np.floor(t)) % n3
    w = t - np.floor(t)
    return (1 - w) * sd.m[:, :, k0] + w * sd.m[:, :, (k0 + 1) % n3]


# ---------------------------------------------------------------------------------------------
# in-plane geometry
def _lattice_2d(cell: np.ndarray) -> np.ndarray:
    return np.asarray(cell, dtype=float)[:2, :2]


def inradius_2d(cell: np.ndarray) -> float:
    """Inradius of the 2D Wigner–Seitz cell: half the shortest non-zero lattice vector."""
    a = _lattice_2d(cell)
    lengths = [np.linalg.norm(i * a[0] + j * a[1]) for i in range(-2, 3) for j in range(-2, 3) if (i, j) != (0, 0)]
    return 0.5 * float(min(lengths))


def minimum_image_xy(dxy: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """In-plane displacements (..., 2) reduced to their shortest periodic image."""
    a = _lattice_2d(cell)
    frac = np.linalg.solve(a.T, dxy.reshape(-1, 2).T).T
    frac -= np.round(frac)
    best = frac @ a
    best_len = np.linalg.norm(best, axis=1)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            if i == 0 and j == 0:
                continue
            cand = (frac + [i, j]) @ a
            ln = np.linalg.norm(cand, axis=1)
            better = ln < best_len
            best[better], best_len[better] = cand[better], ln[better]
    return best.reshape(dxy.shape)


def column_xy(cell: np.ndarray, shape2d: tuple[int, int]) -> np.ndarray:
    """Cartesian xy (n1, n2, 2) of the grid columns."""
    a = _lattice_2d(cell)
    n1, n2 = shape2d
    f1, f2 = np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
    return f1[..., None] * a[0] + f2[..., None] * a[1]


def column_distances(cell: np.ndarray, shape2d: tuple[int, int], center_xy) -> np.ndarray:
    """In-plane minimum-image distance (Å) of every grid column from ``center_xy``."""
    d = minimum_image_xy(column_xy(cell, shape2d) - np.asarray(center_xy, dtype=float)[:2], cell)
    return np.linalg.norm(d, axis=-1)


# ---------------------------------------------------------------------------------------------
# radial profile, R_d, sign changes
@dataclass
class RadialProfile:
    r_edges: np.ndarray            # Å
    moment_muB: np.ndarray         # ∫ m dV in each annulus (µB)
    abs_moment_muB: np.ndarray     # ∫ |m| dV in each annulus (µB)
    area_angstrom2: np.ndarray     # area of the grid columns inside each annulus
    r_inscribed: float             # annuli with r_outer ≤ r_inscribed are complete

    @property
    def r_center(self) -> np.ndarray:
        return 0.5 * (self.r_edges[1:] + self.r_edges[:-1])

    @property
    def mean_areal_density(self) -> np.ndarray:
        """Annular mean of σ (µB/Å²); NaN for an empty annulus."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.area_angstrom2 > 0, self.moment_muB / self.area_angstrom2, np.nan)

    @property
    def mean_abs_areal_density(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.area_angstrom2 > 0, self.abs_moment_muB / self.area_angstrom2, np.nan)

    @property
    def cumulative_moment_muB(self) -> np.ndarray:
        """M(< r_outer) at the outer edge of each annulus."""
        return np.cumsum(self.moment_muB)

    @property
    def cumulative_abs_moment_muB(self) -> np.ndarray:
        return np.cumsum(self.abs_moment_muB)

    @property
    def complete(self) -> np.ndarray:
        return self.r_edges[1:] <= self.r_inscribed + 1e-9

    def to_dict(self) -> dict[str, list]:
        return {"r_center_angstrom": self.r_center, "r_outer_angstrom": self.r_edges[1:],
                "annulus_moment_muB": self.moment_muB, "annulus_abs_moment_muB": self.abs_moment_muB,
                "annulus_area_angstrom2": self.area_angstrom2,
                "mean_areal_density_muB_per_angstrom2": self.mean_areal_density,
                "mean_abs_areal_density_muB_per_angstrom2": self.mean_abs_areal_density,
                "cumulative_moment_muB": self.cumulative_moment_muB,
                "cumulative_abs_moment_muB": self.cumulative_abs_moment_muB,
                "complete_annulus": self.complete.tolist()}


def radial_profile(sigma: np.ndarray, sigma_abs: np.ndarray, r: np.ndarray, column_area: float,
                   bin_width: float, r_inscribed: float) -> RadialProfile:
    """Annular sums of the column densities σ, σ_abs (µB/Å²) at distances ``r`` (all (n1, n2))."""
    if bin_width <= 0:
        raise ValueError("bin_width must be positive")
    nbins = int(np.floor(r.max() / bin_width)) + 1
    edges = np.arange(nbins + 1) * bin_width
    idx = np.minimum((r / bin_width).astype(int), nbins - 1).ravel()
    mom = np.bincount(idx, weights=sigma.ravel() * column_area, minlength=nbins)
    absm = np.bincount(idx, weights=sigma_abs.ravel() * column_area, minlength=nbins)
    area = np.bincount(idx, minlength=nbins) * column_area
    return RadialProfile(edges, mom, absm, area, float(r_inscribed))


def enclosing_radius(sigma_abs: np.ndarray, r: np.ndarray, fraction: float) -> float:
    """Smallest in-plane radius whose cylinder holds ``fraction`` of Σ σ_abs (exact on the grid).

    Columns are sorted by distance; the radius is interpolated linearly between the distance
    shells on either side of the crossing.
    """
    if not 0 < fraction <= 1:
        raise ValueError("fraction must lie in (0, 1]")
    order = np.argsort(r.ravel(), kind="stable")
    rs = r.ravel()[order]
    cum = np.cumsum(sigma_abs.ravel()[order])
    total = cum[-1]
    if total <= 0:
        return float("nan")
    target = fraction * total
    k = int(np.searchsorted(cum, target))
    k = min(k, len(rs) - 1)
    if k == 0:
        return float(rs[0])
    c0, c1 = cum[k - 1], cum[k]
    w = 0.0 if c1 == c0 else (target - c0) / (c1 - c0)
    return float(rs[k - 1] + w * (rs[k] - rs[k - 1]))


def exponential_decay_length(r_center: np.ndarray, envelope: np.ndarray, r_min: float,
                             r_max: float) -> dict[str, Any]:
    """1/e length ξ of a least-squares fit ln(envelope) = ln A − r/ξ over r_min ≤ r ≤ r_max.

    Returns ``xi_angstrom`` (None when the envelope does not decay, or with < 3 points),
    its standard error, the amplitude and the fit range.
    """
    sel = (r_center >= r_min) & (r_center <= r_max) & np.isfinite(envelope) & (envelope > 0)
    out: dict[str, Any] = {"xi_angstrom": None, "xi_stderr_angstrom": None, "amplitude": None,
                           "r_range_angstrom": [float(r_min), float(r_max)], "n_points": int(sel.sum()),
                           "decays": False}
    if sel.sum() < 3:
        out["reason"] = "fewer than 3 annuli in the fit range"
        return out
    x, y = r_center[sel], np.log(envelope[sel])
    A = np.vstack([np.ones_like(x), x]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    slope = coef[1]
    dof = max(len(x) - 2, 1)
    resid = y - A @ coef
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    out["amplitude"] = float(np.exp(coef[0]))
    out["slope_per_angstrom"] = float(slope)
    if slope >= 0:
        out["reason"] = "the envelope does not decay over the fit range"
        return out
    xi = -1.0 / slope
    out.update(xi_angstrom=float(xi), xi_stderr_angstrom=float(np.sqrt(cov[1, 1]) * xi ** 2), decays=True)
    return out


def sign_changes(r_center: np.ndarray, values: np.ndarray, threshold: float) -> list[float]:
    """Radii (Å) where ``values`` changes sign, skipping points below ``threshold`` × max|values|.

    The crossing is interpolated linearly between the two significant points around it.
    """
    ok = np.isfinite(values)
    r, v = r_center[ok], values[ok]
    if len(v) == 0:
        return []
    vmax = np.max(np.abs(v))
    if vmax == 0:
        return []
    sig = np.abs(v) >= threshold * vmax
    r, v = r[sig], v[sig]
    out = []
    for i in range(len(v) - 1):
        if np.sign(v[i]) != np.sign(v[i + 1]):
            out.append(float(r[i] + (r[i + 1] - r[i]) * v[i] / (v[i] - v[i + 1])))
    return out


def atomic_shells(distance: np.ndarray, moment: np.ndarray, tol: float = 0.05) -> tuple[list, list, list]:
    """Group atoms into shells of equal distance (within ``tol`` Å): (distance, mean moment, count)."""
    order = np.argsort(distance, kind="stable")
    d, m = np.asarray(distance)[order], np.asarray(moment)[order]
    shells: list[list[int]] = []
    for i in range(len(d)):
        if shells and d[i] - d[shells[-1][0]] <= tol:
            shells[-1].append(i)
        else:
            shells.append([i])
    return ([float(d[g].mean()) for g in shells], [float(m[g].mean()) for g in shells], [len(g) for g in shells])


def shell_sign_changes(shell_d: list, shell_m: list, threshold: float) -> list[float]:
    """Midpoints between consecutive significant shells whose mean moments have opposite signs."""
    d, m = np.asarray(shell_d, dtype=float), np.asarray(shell_m, dtype=float)
    if len(m) == 0 or np.max(np.abs(m)) == 0:
        return []
    keep = np.abs(m) >= threshold * np.max(np.abs(m))
    d, m = d[keep], m[keep]
    return [float(0.5 * (d[i] + d[i + 1])) for i in range(len(m) - 1) if np.sign(m[i]) != np.sign(m[i + 1])]


# ---------------------------------------------------------------------------------------------
# the whole analysis
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


def analyse_spin_density(sd: SpinDensity, vacancy_xyz, plane_z: float, settings: dict[str, Any],
                         supercell_N: int | None = None, plane_element: str = "Nb") -> dict[str, Any]:
    """Every vacancy quantity from a spin density (plain data; arrays as lists)."""
    s = {**DEFAULTS, **settings}
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
    shape2d = sd.shape[:2]
    r = column_distances(sd.cell, shape2d, vacancy_xyz)
    r_in = inradius_2d(sd.cell)
    L = float(np.linalg.norm(sd.cell[0]))
    sigma = column_density(sd)
    sigma_abs = column_density(sd, absolute=True)
    hw = float(s["plane_half_width_angstrom"])
    sigma_nb = column_density(sd, plane_z, hw)
    sigma_nb_abs = column_density(sd, plane_z, hw, absolute=True)
    bw = float(s["bin_width_angstrom"])
    prof = radial_profile(sigma, sigma_abs, r, sd.column_area, bw, r_in)
    prof_nb = radial_profile(sigma_nb, sigma_nb_abs, r, sd.column_area, bw, r_in)
    fprof = radial_profile(sigma, sigma_abs, r, sd.column_area, float(s["fit_bin_width_angstrom"]), r_in)

    frac = float(s["abs_fraction"])
    R90 = enclosing_radius(sigma_abs, r, frac)
    R90_nb = enclosing_radius(sigma_nb_abs, r, frac)
    R90_uniform = enclosing_radius(np.ones_like(r), r, frac)
    limit_factor = float(s["limit_fraction_of_uniform"])
    limited = bool(np.isfinite(R90) and (R90 >= r_in or R90 >= limit_factor * R90_uniform))
    complete = fprof.complete
    fit = exponential_decay_length(fprof.r_center[complete], fprof.mean_abs_areal_density[complete],
                                   float(s["fit_r_min_angstrom"]), r_in)
    thr = float(s["sign_threshold"])
    comp = prof.complete
    sc_col = sign_changes(prof.r_center[comp], prof.mean_areal_density[comp], thr)
    sc_nb = sign_changes(prof_nb.r_center[comp], prof_nb.mean_areal_density[comp], thr)
    vanished = abs(mom["total_muB"]) < float(s["vanished_moment_muB"])

    atoms_info = None
    if sd.positions is not None and sd.gpaw_magmoms_muB is not None:
        sel = [i for i, el in enumerate(sd.symbols) if el == plane_element]
        d = np.linalg.norm(minimum_image_xy(sd.positions[sel, :2] - np.asarray(vacancy_xyz)[:2], sd.cell), axis=-1)
        order = np.argsort(d, kind="stable")
        mm = sd.gpaw_magmoms_muB[sel]
        shells_d, shells_m, shells_n = atomic_shells(d, mm)
        atoms_info = {"element": plane_element, "index": [sel[i] for i in order],
                      "distance_angstrom": d[order], "moment_muB": mm[order],
                      "shell_distance_angstrom": shells_d, "shell_mean_moment_muB": shells_m,
                      "shell_count": shells_n,
                      "sign_changes_between_shells_angstrom": shell_sign_changes(shells_d, shells_m,
                                                                                 float(s["sign_threshold"])),
                      "sum_muB": float(mm.sum()),
                      "n_antiparallel_to_total": int(np.sum(np.sign(mm) == -np.sign(mom["total_muB"]))
                                                     if mom["total_muB"] != 0 else 0)}

    notes = []
    if vanished:
        notes.append(f"|M| = {abs(mom['total_muB']):.3f} µB < {s['vanished_moment_muB']} µB: the supercell converged "
                     "to a (nearly) non-magnetic solution; R_d then describes residual/noise spin density")
    if limited:
        notes.append(f"R_d = {R90:.2f} Å is limited by the supercell: ≥ {limit_factor:g} × {R90_uniform:.2f} Å "
                     f"(the value for |m| spread uniformly over the cell) or ≥ r_in = {r_in:.2f} Å (half the "
                     "supercell length); the spin density fills the supercell and R_d is a lower bound at best")
    xi = fit["xi_angstrom"]
    if xi is not None and xi >= r_in:
        notes.append(f"the fitted decay length ξ = {xi:.2f} Å ≥ r_in = {r_in:.2f} Å: "
                     "not resolved by the supercell")
    if not fit["decays"]:
        notes.append(f"no exponential decay length: {fit.get('reason')}")

    return {
        "vacancy_moment_muB": mom["total_muB"],
        "vacancy_abs_moment_muB": mom["abs_muB"],
        "vacancy_positive_moment_muB": mom["positive_muB"],
        "vacancy_negative_moment_muB": mom["negative_muB"],
        "gpaw_total_moment_muB": sd.gpaw_moment_muB,
        "spin_orientation_flipped": flipped,
        "moment_grid_minus_gpaw_muB": (mom["total_muB"] - sd.gpaw_moment_muB
                                       if sd.gpaw_moment_muB is not None else None),
        "R_d_angstrom": R90,
        "R_d_definition": (f"in-plane radius of the cylinder around the vacancy site that encloses {100 * frac:g} % "
                           "of the absolute moment ∫|n↑−n↓| dV of the supercell (minimum-image distances; "
                           "exponential areal density e^(−r/ξ) in an infinite plane: R_90 = 3.89 ξ)"),
        "R_d_nb_slab_angstrom": R90_nb,
        "R_d_uniform_reference_angstrom": R90_uniform,
        "R_d_exp_angstrom": xi,
        "R_d_exp_stderr_angstrom": fit["xi_stderr_angstrom"],
        "R_d_exp_definition": ("1/e length ξ of a least-squares fit ln⟨σ_abs⟩(r) = ln A − r/ξ of the annular "
                               "mean "
                               f"of ∫|m| dz over complete annuli ({s['fit_bin_width_angstrom']} Å wide) with "
                               f"{s['fit_r_min_angstrom']} Å ≤ r ≤ r_in"),
        "R_d_exp_fit": fit,
        "R_d_limited_by_supercell": limited,
        "R_d_limited_definition": (f"R_d ≥ r_in (half the supercell length; annuli beyond are cut by the cell) or "
                                   f"R_d ≥ {limit_factor:g} × R_d of a uniform |m| over the cell "
                                   f"({R90_uniform:.2f} Å ≈ 0.5 L for a hexagonal cell)"),
        "moment_vanished": bool(vanished),
        "supercell_N": supercell_N,
        "supercell_length_angstrom": L,
        "r_inscribed_angstrom": r_in,
        "vacancy_position_angstrom": [float(x) for x in vacancy_xyz],
        "plane_z_angstrom": float(plane_z),
        "plane_half_width_angstrom": hw,
        "nb_slab_moment_muB": float(sigma_nb.sum() * sd.column_area),
        "sign_changes_radii_angstrom": sc_col,
        "n_sign_changes": len(sc_col),
        "sign_changes_nb_slab_radii_angstrom": sc_nb,
        "n_sign_changes_nb_slab": len(sc_nb),
        "sign_changes_atomic_shells_angstrom": (atoms_info or {}).get("sign_changes_between_shells_angstrom", []),
        "sign_change_definition": (f"zero crossings of the annular mean of σ = ∫m dz ({bw} Å annuli, complete "
                                   f"annuli only), annuli with |mean| < {thr} × max skipped; atomic shells: "
                                   "midpoints between consecutive distance shells of GPAW's Nb atomic moments "
                                   "(whole cell) whose shell means have opposite signs, same threshold"),
        "density": sd.kind,
        "grid_shape": list(sd.shape),
        "radial_profile": prof.to_dict(),
        "radial_profile_nb_slab": prof_nb.to_dict(),
        "plane_atoms": atoms_info,
        "notes": notes,
        "_maps": {"sigma_nb": sigma_nb, "sigma": sigma, "r": r},
    }


def load_manifest(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text())


def analyse_gpw(gpw_path: str | os.PathLike, manifest: dict, settings: dict[str, Any] | None = None,
                variant: str = "base") -> dict[str, Any]:
    """:func:`analyse_spin_density` of a ``.gpw`` with the vacancy geometry of ``manifest``."""
    s = {**DEFAULTS, **(settings or {})}
    geo = vacancy_geometry(manifest, variant)
    sd = load_spin_density(gpw_path, s["density"], int(s["gridrefinement"]))
    res = analyse_spin_density(sd, geo["vacancy_position_angstrom"], geo["plane_z_angstrom"], s,
                               supercell_N=geo["supercell_N"], plane_element=geo["plane_element"])
    res["_maps"]["cell"] = sd.cell
    res["_maps"]["positions"] = sd.positions
    res["_maps"]["symbols"] = sd.symbols
    return res


def public(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-able part of a result (without the grid maps)."""
    return {k: v for k, v in result.items() if not k.startswith("_")}
