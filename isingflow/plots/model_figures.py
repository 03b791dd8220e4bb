"""Figures of the model stage: Fig. 2(a)–(c) and Fig. 3(b) (energies in units of Tc0)."""
from __future__ import annotations

import math
import os

import matplotlib.pyplot as plt
import numpy as np

from isingflow.provenance import atomic_path

# the paper's colours for B = 0, 0.225, 0.45, 0.67 Tc (blue, red, green, grey)
_CURVE_COLOURS = ["tab:blue", "tab:red", "tab:green", "0.45", "tab:purple", "tab:orange", "tab:brown"]
_AXIS_COLOURS = {"x": "tab:green", "y": "tab:red", "z": "0.35"}
_DIR_TEXT = {"par": r"$B \parallel c$", "perp": r"$B \perp c$"}


def _dir_text(direction: str, fig2: dict) -> str:
    if direction in _DIR_TEXT:
        return _DIR_TEXT[direction]
    return rf"$\theta_B = {fig2['directions'][direction]:g}^\circ$"


def _save(fig, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150)
    plt.close(fig)


def plot_fig2_panel(path, curves: list[dict], order_parameter: list[dict], peaks: list[dict],
                    direction: str, fig2: dict) -> None:
    """dI/dV versus eV for every B of one field direction, with the Δo(B) inset (Fig. 2a/2b)."""
    fig, ax = plt.subplots(figsize=(5.6, 4.3))
    Bs = sorted({r["B"] for r in curves if r["direction"] == direction})
    pk = {r["B"]: r for r in peaks if r["direction"] == direction}
    vps = [pk[b]["V_peak"] for b in Bs if b in pk and math.isfinite(pk[b]["V_peak"])]
    gmax = 0.0
    for i, B in enumerate(Bs):
        rs = [r for r in curves if r["direction"] == direction and r["B"] == B]
        V = np.array([r["V"] for r in rs])
        G = np.array([r["G"] for r in rs])
        gmax = max(gmax, float(G.max()))
        ax.plot(V, G, color=_CURVE_COLOURS[i % len(_CURVE_COLOURS)], lw=1.2,
                label=rf"$B = {B:g}\,T_{{c0}}$")
    if vps:
        ax.set_xlim(min(vps) - 0.45, max(vps) + 0.7)
    ax.set_ylim(0, 1.08 * gmax)
    ax.set_xlabel(r"$|e|V$ ($T_{c0}$)")
    ax.set_ylabel(r"$(dI/dV)\,/\,G_N$")
    ax.set_title(rf"{_dir_text(direction, fig2)}: $T = {fig2['T']:g}\,T_{{c0}}$, "
                 rf"$\Delta_{{SOC}} = {fig2['delta_soc']:g}$, $\eta = {fig2['eta']:g}$, "
                 rf"$\gamma_0 = {fig2['gamma0']:g}$", fontsize=9)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ins = ax.inset_axes([0.66, 0.42, 0.31, 0.36])
    op = sorted((r for r in order_parameter if r["direction"] == direction), key=lambda r: r["B"])
    ins.plot([r["B"] for r in op], [r["delta_o"] for r in op], "k-", lw=1.0)
    for i, B in enumerate(Bs):
        if B in pk:
            ins.plot([B], [pk[B]["delta_o"]], "o", ms=4, color=_CURVE_COLOURS[i % len(_CURVE_COLOURS)])
    ins.set_xlabel(r"$B$ ($T_{c0}$)", fontsize=7, labelpad=1)
    ins.set_ylabel(r"$\Delta_o$ ($T_{c0}$)", fontsize=7, labelpad=1)
    ins.tick_params(labelsize=6)
    fig.tight_layout()
    _save(fig, path)


def plot_fig2c(path, peaks: list[dict], fig2: dict) -> None:
    """Peak shift ΔV_p(B) for every direction (left) and FWHM(B)/FWHM(0) (right) (Fig. 2c)."""
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    ax2 = ax.twinx()
    markers = ["o", "s", "^", "D"]
    handles = []
    for i, direction in enumerate(sorted(fig2["directions"], key=lambda d: fig2["directions"][d])):
        rs = sorted((r for r in peaks if r["direction"] == direction), key=lambda r: r["B"])
        if not rs:
            continue
        zero = [r for r in rs if r["B"] == 0.0]
        if not zero:
            continue
        B = np.array([r["B"] for r in rs])
        dv = np.array([r["V_peak"] for r in rs]) - zero[0]["V_peak"]
        fw = np.array([r["fwhm"] for r in rs]) / zero[0]["fwhm"]
        colour = "tab:blue" if i == 0 else "tab:red"
        h1, = ax.plot(B, dv, marker=markers[i % 4], color=colour, lw=1.3,
                      label=rf"$\Delta V_p$, {_dir_text(direction, fig2)}")
        h2, = ax2.plot(B, fw, marker=markers[i % 4], color=colour, lw=1.0, ls="--", mfc="none",
                       label=rf"FWHM/FWHM(0), {_dir_text(direction, fig2)}")
        handles += [h1, h2]
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel(r"$B$ ($T_{c0}$)")
    ax.set_ylabel(r"$\Delta V_p = V_p(B) - V_p(0)$ ($T_{c0}/|e|$)")
    ax2.set_ylabel("FWHM(B) / FWHM(0)")
    ax.set_title(rf"$T = {fig2['T']:g}\,T_{{c0}}$, $\Delta_{{SOC}} = {fig2['delta_soc']:g}$, "
                 rf"$\eta = {fig2['eta']:g}$, $\gamma_0 = {fig2['gamma0']:g}$", fontsize=9)
    ax.legend(handles=handles, loc="center left", fontsize=7.5, frameon=False)
    fig.tight_layout()
    _save(fig, path)


def plot_fig3b(path, rows: list[dict], fig3b: dict) -> None:
    """In-plane B_c(φ_B) for each defect easy axis: polar (left) and Cartesian (right) (Fig. 3b)."""
    fig = plt.figure(figsize=(9.0, 4.0))
    axp = fig.add_subplot(1, 2, 1, projection="polar")
    axc = fig.add_subplot(1, 2, 2)
    lo, hi = math.inf, -math.inf
    for axis in fig3b["easy_axes"]:
        rs = sorted((r for r in rows if r["easy_axis"] == axis), key=lambda r: r["phi_deg"])
        phi = np.array([r["phi_deg"] for r in rs])
        bc = np.array([r["Bc"] for r in rs])
        lo, hi = min(lo, bc.min()), max(hi, bc.max())
        c = _AXIS_COLOURS.get(axis, None)
        # B_c is π-periodic: mirror to the full circle for the polar view
        ph_full = np.concatenate([phi, phi + 180.0])
        bc_full = np.concatenate([bc, bc])
        axp.plot(np.radians(ph_full), bc_full, color=c, lw=1.4, label=f"easy axis {axis}")
        axc.plot(phi, bc, color=c, lw=1.4, marker="o", ms=2.5, label=f"easy axis {axis}")
    pad = max(0.05 * (hi - lo), 0.02 * hi)
    axp.set_rlim(max(0.0, lo - 3 * pad), hi + pad)
    axp.set_title(rf"$B_c(\varphi_B)$ ($T_{{c0}}$; radial axis starts at {axp.get_rmin():.2f})", fontsize=9)
    axp.tick_params(labelsize=7)
    axc.set_xlabel(r"field angle $\varphi_B$ from $x$ (deg)")
    axc.set_ylabel(r"in-plane $B_c$ ($T_{c0}$)")
    axc.set_xlim(0, fig3b["phi_max_deg"])
    axc.set_xticks(np.arange(0, fig3b["phi_max_deg"] + 1, 45))
    axc.legend(fontsize=8, frameon=False)
    axc.set_title(rf"$T = {fig3b['T']:g}\,T_{{c0}}$, $\Delta_{{SOC}} = {fig3b['delta_soc']:g}$, "
                  rf"$\eta_a = {fig3b['eta_mag_rate']:g}$, $\eta = {fig3b['eta']:g}$, "
                  rf"$r_m = {fig3b['rm']:g}$", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def plot_handoff(rows: list[dict], summary: dict, B_tc: float, B_T: float, path: str | os.PathLike) -> None:
    """dI/dV of the DFT heterostructure for B ∥ c and B ⊥ c (the DFT → model hand-off)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.8), dpi=150)
    for name, color, label in (("par", "tab:blue", r"$B \parallel c$"), ("perp", "tab:red", r"$B \perp c$")):
        V = np.array([r["V"] for r in rows if r["direction"] == name])
        G = np.array([r["G"] for r in rows if r["direction"] == name])
        s = summary[name]
        ax.plot(V, G, color=color, lw=1.2,
                label=f"{label}: $\\Delta_o$ = {s['delta_o']:.4f}, FWHM = {s['fwhm']:.4f}")
    ax.set_xlabel(r"$eV$ ($T_{c0}$)")
    ax.set_ylabel(r"$dI/dV\,/\,G_N$")
    ax.set_title(f"DFT hand-off: B = {B_tc:.3g} $T_{{c0}}$ ({B_T:.3g} T)", fontsize=9)
    ax.legend(fontsize=7)
    _save(fig, path)
