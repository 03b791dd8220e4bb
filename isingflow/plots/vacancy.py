"""Fig. 3a (spin density of a Se vacancy in the Nb plane) and the radial profile of the spin density."""
from __future__ import annotations

import os

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np

from isingflow.provenance import atomic_path


def _save(fig, path):
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)


def periodic_map_on_window(sigma: np.ndarray, cell2d: np.ndarray, center_xy, half_width: float,
                           npts: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ on a square Cartesian window around ``center_xy``: periodic bilinear interpolation of the grid map.

    Grid point (i, j) of ``sigma`` sits at fractional (i/n1, j/n2) of the 2D cell ``cell2d``.
    Returns (x, y, values) with x, y 1D (Å) and values (len(y), len(x)).
    """
    from scipy.ndimage import map_coordinates

    c = np.asarray(center_xy, dtype=float)[:2]
    x = np.linspace(c[0] - half_width, c[0] + half_width, npts)
    y = np.linspace(c[1] - half_width, c[1] + half_width, npts)
    X, Y = np.meshgrid(x, y)
    frac = np.linalg.solve(np.asarray(cell2d, dtype=float).T, np.vstack([X.ravel(), Y.ravel()]))
    n1, n2 = sigma.shape
    coords = np.vstack([(frac[0] % 1.0) * n1, (frac[1] % 1.0) * n2])
    vals = map_coordinates(sigma, coords, order=1, mode="grid-wrap").reshape(X.shape)
    return x, y, vals


def plot_spin_density_map(sigma: np.ndarray, cell: np.ndarray, vacancy_xy, path: str | os.PathLike,
                          positions: np.ndarray | None = None, symbols: list[str] | None = None,
                          plane_element: str = "Nb", tiles: int = 3, color_scale: str = "symlog",
                          linthresh_fraction: float = 0.01, title: str | None = None,
                          moment_muB: float | None = None, R_d: float | None = None,
                          half_width: float | None = None) -> None:
    """Fig. 3a: σ_Nb(x, y) (µB/Å²) on a square window ``tiles`` supercell heights wide, vacancy centred
    (periodic images included; dashed: the home cell).

    Diverging colours symmetric about zero (red: along the total moment's positive axis,
    blue: opposite); ``symlog`` shows the small sign-changing tail beside the large core.
    """
    a = np.asarray(cell, dtype=float)[:2, :2]
    v = np.asarray(vacancy_xy, dtype=float)[:2]
    L = float(np.linalg.norm(a[0]))
    half = 0.5 * tiles * L * np.sqrt(3) / 2
    x, y, C = periodic_map_on_window(sigma, a, v, half)
    vmax = float(np.max(np.abs(sigma))) or 1.0
    if color_scale == "symlog":
        norm = mcolors.SymLogNorm(linthresh=linthresh_fraction * vmax, vmin=-vmax, vmax=vmax, base=10)
    else:
        norm = mcolors.Normalize(vmin=-vmax, vmax=vmax)
    fig, ax = plt.subplots(figsize=(6.0, 5.2), dpi=150)
    mesh = ax.imshow(C, origin="lower", extent=(x[0], x[-1], y[0], y[-1]), cmap="RdBu_r", norm=norm,
                     interpolation="nearest")
    cb = fig.colorbar(mesh, ax=ax, shrink=0.85)
    label = r"$\int (n_\uparrow - n_\downarrow)\,dz$ ($\mu_B/\AA^2$)"
    if half_width is not None:
        label += f", |z − z$_{{{plane_element}}}$| ≤ {half_width:g} Å"
    cb.set_label(label, fontsize=8)
    # supercell outline (home cell) and atoms of the plane in every tile
    corners = np.array([[0, 0], a[0], a[0] + a[1], a[1], [0, 0]])
    ax.plot(corners[:, 0], corners[:, 1], color="k", lw=0.8, ls="--", alpha=0.7)
    if positions is not None and symbols is not None:
        sel = np.array([s == plane_element for s in symbols])
        k = tiles + 1
        shifts = [i * a[0] + j * a[1] for i in range(-k, k + 1) for j in range(-k, k + 1)]
        pts = np.concatenate([positions[sel, :2] + sh for sh in shifts])
        inside = (np.abs(pts[:, 0] - v[0]) <= half) & (np.abs(pts[:, 1] - v[1]) <= half)
        pts = pts[inside]
        ax.scatter(pts[:, 0], pts[:, 1], s=4, c="0.25", lw=0, label=plane_element)
    ax.add_patch(plt.Circle(v, 0.9, fill=False, ls=":", lw=1.5, color="k"))
    if R_d is not None and np.isfinite(R_d):
        ax.add_patch(plt.Circle(v, R_d, fill=False, ls="-", lw=0.8, color="0.3"))
        ax.text(v[0] + R_d / np.sqrt(2), v[1] + R_d / np.sqrt(2), r"$R_d$", fontsize=8, color="0.2")
    ax.set_xlim(v[0] - half, v[0] + half)
    ax.set_ylim(v[1] - half, v[1] + half)
    ax.set_aspect("equal")
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    txt = []
    if moment_muB is not None:
        txt.append(f"M = {moment_muB:.3f} µB")
    if R_d is not None and np.isfinite(R_d):
        txt.append(f"R_d = {R_d:.1f} Å")
    if txt:
        ax.text(0.02, 0.98, ", ".join(txt), transform=ax.transAxes, va="top", fontsize=8,
                bbox={"fc": "white", "alpha": 0.8, "lw": 0})
    ax.set_title(title or "Fig. 3a: spin density of V$_{Se}$ in the Nb plane", fontsize=9)
    _save(fig, path)


def plot_radial_profile(result: dict, path: str | os.PathLike, title: str | None = None) -> None:
    """Annular mean of the spin density vs distance from the vacancy, and the cumulative moments."""
    prof = result["radial_profile"]
    nb = result["radial_profile_nb_slab"]
    r = np.asarray(prof["r_center_angstrom"], dtype=float)
    r_out = np.asarray(prof["r_outer_angstrom"], dtype=float)
    r_in = result["r_inscribed_angstrom"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(5.6, 6.4), dpi=150, sharex=True)
    ax1.axhline(0, color="k", lw=0.5)
    ax1.plot(r, np.asarray(prof["mean_areal_density_muB_per_angstrom2"], dtype=float), "o-", ms=3,
             color="tab:purple", label=r"$\int m\,dz$, whole cell")
    ax1.plot(r, np.asarray(nb["mean_areal_density_muB_per_angstrom2"], dtype=float), "s--", ms=2.5,
             color="tab:green", label=f"Nb slab (±{result['plane_half_width_angstrom']:g} Å)")
    for rc in result["sign_changes_radii_angstrom"]:
        ax1.axvline(rc, color="tab:purple", lw=0.6, ls=":")
    ax1.set_ylabel(r"annular mean ($\mu_B/\AA^2$)")
    ax1.legend(fontsize=7)
    ax2.plot(np.r_[0, r_out], np.r_[0, prof["cumulative_moment_muB"]], color="tab:red", label=r"$M(<r)$")
    ax2.plot(np.r_[0, r_out], np.r_[0, prof["cumulative_abs_moment_muB"]], color="tab:blue",
             label=r"$\int_{<r}|m|\,dV$")
    atoms = result.get("plane_atoms")
    if atoms:
        ax2.plot(atoms["distance_angstrom"], atoms["moment_muB"], "k^", ms=4, ls="none",
                 label=f"{atoms['element']} atomic moments (GPAW)")
    ax2.axhline(0, color="k", lw=0.5)
    for ax in (ax1, ax2):
        ax.axvspan(r_in, max(r_out[-1], r_in), color="0.85", zorder=0)
        if result.get("R_d_angstrom") is not None:
            ax.axvline(result["R_d_angstrom"], color="k", lw=0.8)
        if result.get("R_d_exp_angstrom") is not None:
            ax.axvline(result["R_d_exp_angstrom"], color="0.4", lw=0.8, ls="--")
    ymax = ax2.get_ylim()[1]
    if result.get("R_d_angstrom") is not None:
        ax2.text(result["R_d_angstrom"], ymax, r" $R_d$", va="top", fontsize=8)
    if result.get("R_d_exp_angstrom") is not None:
        ax2.text(result["R_d_exp_angstrom"], 0.55 * ymax, r" $\xi$", va="top", fontsize=8, color="0.3")
    ax2.text(r_in, 0.5 * ymax, " incomplete\n annuli", fontsize=7, color="0.4")
    ax2.set_xlabel("in-plane distance from the vacancy r (Å)")
    ax2.set_ylabel(r"moment ($\mu_B$)")
    ax2.legend(fontsize=7)
    ax1.set_title(title or "V$_{Se}$ spin density: radial profile", fontsize=9)
    _save(fig, path)


def plot_vacancy_figures(analysis, figure: dict, profile: str, fig3a: str | os.PathLike,
                         radial: str | os.PathLike) -> None:
    """Fig. 3a and the radial profile of a :class:`isingflow.extract.vacancy.VacancyAnalysis`.

    ``figure``: the ``vacancy.figure`` config section (tiles, colour scale).
    """
    res, maps = analysis.parameters, analysis.maps
    N = res["supercell_N"]
    plot_spin_density_map(maps.sigma_nb, maps.cell, res["vacancy_position_angstrom"], fig3a,
                          positions=maps.positions, symbols=maps.symbols, tiles=int(figure["tiles"]),
                          color_scale=figure["color_scale"], linthresh_fraction=float(figure["linthresh_fraction"]),
                          moment_muB=res["vacancy_moment_muB"], R_d=res["R_d_angstrom"],
                          half_width=res["plane_half_width_angstrom"],
                          title=f"Fig. 3a: V$_{{Se}}$ spin density, Nb plane, {N}×{N}×1 ({profile})")
    plot_radial_profile(res, radial, title=f"V$_{{Se}}$ in {N}×{N}×1 NbSe$_2$: radial profile ({profile})")
