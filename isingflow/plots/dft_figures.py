"""Figures of the first-principles half of the paper (Fig. 1b, 1c, 1d and the hot-spot plot)."""
from __future__ import annotations

import os
import re

import matplotlib.pyplot as plt
import numpy as np

from isingflow.dft import BandStructure
from isingflow.plots.bands import decorate_band_axes
from isingflow.provenance import atomic_path


def _save(fig, path):
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)


def chemical(formula: str) -> str:
    """A formula with mathtext subscripts (``CrBr3`` → ``CrBr$_{3}$``)."""
    return re.sub(r"(\d+)", r"$_{\1}$", formula)


def plot_level_alignment(alignment: dict, path: str | os.PathLike, superconductor: str = "NbSe2",
                         magnet: str = "CrBr3") -> None:
    """Fig. 1b: the superconductor's E_F and the magnet's spin-up / spin-down band edges on a common
    vacuum scale (the record's keys keep the paper's names: ``nbse2_…``, ``crbr3_…``)."""
    sc, mag = chemical(superconductor), chemical(magnet)
    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=150)
    ef = alignment["nbse2_fermi_level_vs_vacuum_eV"]
    ax.hlines(ef, 0.1, 0.9, color="k", lw=2)
    ax.text(0.5, ef + 0.08, f"{sc} $E_F$", ha="center", fontsize=8)
    for x0, spin, color in ((1.2, "up", "tab:red"), (2.2, "down", "tab:blue")):
        edges = alignment["crbr3_edges_vs_vacuum_eV"][spin]
        ax.add_patch(plt.Rectangle((x0, edges["cbm_eV"]), 0.8, 0.6, color=color, alpha=0.35))
        ax.add_patch(plt.Rectangle((x0, edges["vbm_eV"] - 0.6), 0.8, 0.6, color=color, alpha=0.35))
        ax.text(x0 + 0.4, edges["cbm_eV"] + 0.65, f"CB {'↑' if spin == 'up' else '↓'}", ha="center", fontsize=8)
        ax.text(x0 + 0.4, edges["vbm_eV"] - 0.8, f"VB {'↑' if spin == 'up' else '↓'}", ha="center", fontsize=8)
        barrier = edges["cbm_eV"] - ef
        ax.annotate("", xy=(x0 + 0.4, edges["cbm_eV"]), xytext=(x0 + 0.4, ef),
                    arrowprops={"arrowstyle": "<->", "color": color})
        ax.text(x0 + 0.45, 0.5 * (ef + edges["cbm_eV"]), f"{barrier:.2f} eV", fontsize=8, color=color)
    ax.axhline(ef, color="k", lw=0.5, ls=":")
    ax.set_xlim(0, 3.2)
    ax.set_xticks([0.5, 1.6, 2.6], [sc, f"{mag} ↑", f"{mag} ↓"])
    ax.set_ylabel("energy vs vacuum (eV)")
    ax.set_title("Fig. 1b: level alignment (vacuum-aligned monolayers)", fontsize=9)
    _save(fig, path)


def plot_trilayer_bands(bands: BandStructure, sc_layers: list[int], path: str | os.PathLike,
                        window_eV=(-0.8, 0.8), lambda_ex_meV: float | None = None,
                        layers: tuple[str, ...] = ("NbSe2", "CrBr3", "NbSe2")) -> None:
    """Fig. 1c: spin-polarised unfolded bands of the stack ``layers``; marker size = unfold weight ×
    weight on the superconductor layers ``sc_layers``."""
    x = bands.path_distance()
    fig, ax = plt.subplots(figsize=(5.0, 4.2), dpi=150)
    lp = bands.layer_projections()[..., list(sc_layers)].sum(axis=-1)
    W = bands.unfold_weights if bands.unfold_weights is not None else np.ones(bands.eigenvalues.shape)
    for s, color, lab in ((0, "tab:red", "spin ↑"), (1, "tab:blue", "spin ↓")):
        e = bands.eigenvalues[s] - bands.fermi_level
        size = 12 * np.clip(W[s] * lp[s], 0, 1)
        xx = np.repeat(x[:, None], e.shape[1], axis=1)
        keep = size > 0.3
        ax.scatter(xx[keep], e[keep], s=size[keep], color=color, alpha=0.7, label=lab, lw=0)
    decorate_band_axes(ax, x, bands.path_labels, window_eV)
    title = f"Fig. 1c: {'/'.join(map(chemical, layers))}, unfolded {chemical(layers[sc_layers[0]])} bands"
    if lambda_ex_meV is not None:
        title += "\n" + rf"$\lambda_{{ex}}$ = {lambda_ex_meV:.1f} meV"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper right", markerscale=2)
    _save(fig, path)


def plot_t_perp(curves: dict, path: str | os.PathLike) -> None:
    """Fig. 1d: t⊥(k) along Γ–M and Γ–Λ(–K) for each system in ``curves``.

    ``curves[system][segment] = (k_distance_inv_angstrom, t_perp_meV)`` with segment in
    {"G-M", "G-K"}; Λ, the midpoint of Γ–K, is marked.
    """
    fig, axes = plt.subplots(1, 2, figsize=(7.4, 3.6), dpi=150, sharey=True)
    for ax, seg, name in ((axes[0], "G-M", "Γ–M"), (axes[1], "G-K", "Γ–K")):
        for (system, segs), style in zip(curves.items(), ("-o", "--s", ":^", "-.v")):
            k, t = segs[seg]
            ax.plot(k, t, style, ms=2.5, lw=1.2, label=system)
        if seg == "G-K":
            kmax = max(segs[seg][0][-1] for segs in curves.values())
            ax.axvline(kmax / 2, color="0.5", lw=0.6, ls=":")
            ax.text(kmax / 2, ax.get_ylim()[1] * 0.95 if ax.get_ylim()[1] > 0 else 1, " Λ", fontsize=8)
        ax.set_xlabel(f"k along {name} (1/Å)")
        ax.set_title(name, fontsize=9)
    axes[0].set_ylabel(r"$t_\perp$ (meV)")
    axes[0].legend(fontsize=7)
    fig.suptitle(r"Fig. 1d: interlayer hopping $t_\perp(k)$ (half the bonding–antibonding splitting)", fontsize=9)
    _save(fig, path)


def plot_hotspots(k_inv_angstrom, t_perp_meV, delta_soc_meV, correlation: float, path: str | os.PathLike) -> None:
    """|t⊥(k)|² against |ΔSOC(k)| along Γ–K: tunnelling hot spots where Ising protection is weak."""
    fig, ax1 = plt.subplots(figsize=(5.0, 3.6), dpi=150)
    ax1.plot(k_inv_angstrom, np.asarray(t_perp_meV) ** 2, "-o", ms=2.5, color="tab:green")
    ax1.set_xlabel("k along Γ–K (1/Å)")
    ax1.set_ylabel(r"$|t_\perp|^2$ (meV$^2$)", color="tab:green")
    ax2 = ax1.twinx()
    ax2.plot(k_inv_angstrom, np.abs(delta_soc_meV), "-s", ms=2.5, color="tab:purple")
    ax2.set_ylabel(r"$|\Delta_{SOC}|$ full splitting (meV)", color="tab:purple")
    ax1.set_title(rf"hot spots: corr($|t_\perp|^2$, $|\Delta_{{SOC}}|$) = {correlation:+.2f}", fontsize=9)
    _save(fig, path)


def plot_heterostructure_figures(result, fig1b: str | os.PathLike, fig1c: str | os.PathLike,
                                 fig1d: str | os.PathLike, hotspots: str | os.PathLike,
                                 layers: tuple[str, ...] = ("NbSe2", "CrBr3", "NbSe2"),
                                 magnet_layer: int = 1) -> None:
    """Fig. 1b, 1c, 1d and the hot-spot plot of a :class:`isingflow.extract.HeterostructureResult`
    of the stack ``layers`` (materials, bottom to top)."""
    plot_level_alignment(result.alignment.figure_data(), fig1b, layers[result.superconductor_layers[0]],
                         layers[magnet_layer])
    plot_trilayer_bands(result.unfolded, result.superconductor_layers, fig1c,
                        lambda_ex_meV=result.lambda_ex.average_meV, layers=tuple(layers))
    arrow = {"up": " ↑", "down": " ↓", "both": ""}
    plot_t_perp({name + arrow[spin]: {seg: (c.k_distance_inv_angstrom, c.t_perp_meV) for seg, c in segs.items()}
                 for name, spins in result.t_perp.items() for spin, segs in spins.items()}, fig1d)
    spots = result.hot_spots
    plot_hotspots(spots.k_distance_inv_angstrom, spots.t_perp_meV, spots.delta_soc_full_meV, spots.correlation,
                  hotspots)
