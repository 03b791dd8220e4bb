"""Binding curves E_b(d) per lateral stacking (PBE + D3(BJ), and PBE alone), equilibria marked."""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np

from isingflow.provenance import atomic_path


def plot_binding_curves(binding: dict, path: str | os.PathLike, title: str = "") -> None:
    """E_b(d) (meV/Å² of interface) of every stacking of a :func:`~isingflow.extract.binding.system_binding` record.

    Solid lines with dots: PBE + D3(BJ); dashed: PBE alone; dotted: counterpoise-corrected (when
    computed); a star at each fitted (d₀, E_b(d₀)); the lowest-energy stacking is named in the legend.
    """
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    for i, curve in enumerate(binding["curves"]):
        color = f"C{i}"
        d = np.asarray(curve["d_angstrom"])
        label = curve["stacking"] + (" (lowest)" if curve["stacking"] == binding["lowest_stacking"] else "")
        ax.plot(d, curve["e_b_meV_per_angstrom2"], "o-", color=color, label=label)
        ax.plot(d, curve["e_b_pbe_only_meV_per_angstrom2"], "--", color=color, alpha=0.6)
        if curve.get("e_b_cp_meV_per_angstrom2") is not None:
            ax.plot(d, curve["e_b_cp_meV_per_angstrom2"], ":", color=color)
        ax.plot([curve["d0_angstrom"]], [curve["e_b0_meV_per_angstrom2"]], "*", color=color, markersize=13,
                markeredgecolor="k")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(r"interlayer distance $d$ (Å)")
    ax.set_ylabel(r"$E_b$ (meV/Å$^2$ of interface)")
    ax.set_title(title or "binding curves: PBE+D3(BJ) (solid), PBE (dashed), ★ = fitted minimum", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
