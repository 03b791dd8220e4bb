"""In-plane geometry of a periodic supercell and the radial analysis of an areal density around a point.

Used for the spin density around a vacancy (:mod:`isingflow.extract.vacancy`): minimum-image
distances, annular profiles, the enclosing radius R_d, an exponential decay length and sign
changes.  Definitions: ``docs/extraction.md`` (section "Se vacancy").  Lengths in Å, moments in µB.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


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
