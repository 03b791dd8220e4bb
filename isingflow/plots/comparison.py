"""The comparison figure: which magnet gives the superconductor the largest exchange, the strongest
spin filter and the clearest tunnelling signature (one colour per heterostructure)."""
from __future__ import annotations

import math
import os
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from isingflow.plots.dft_figures import _save, chemical


def _label(name: str) -> str:
    return "/".join(chemical(p) for p in name.split("-"))


def _bars(ax, labels, groups: dict[str, Sequence[float]], errors: dict[str, Sequence[float]] | None = None):
    """Grouped bars: one group per heterostructure, one bar per key of ``groups``."""
    x = np.arange(len(labels))
    width = 0.8 / max(len(groups), 1)
    for i, (key, values) in enumerate(groups.items()):
        vals = [v if v is not None and math.isfinite(v) else np.nan for v in values]
        err = None if not errors or key not in errors else [e if e is not None else 0 for e in errors[key]]
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, vals, width, yerr=err, capsize=3, label=key)
    ax.set_xticks(x, labels, fontsize=7, rotation=15)
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=7)


def _relative(model, direction, key):
    if not model:
        return np.nan
    ref, val = (math.nan if x is None else float(x) for x in (model["zero_field"][key], model[direction][key]))
    return 100 * (val / ref - 1) if ref and math.isfinite(ref) and math.isfinite(val) else np.nan


def plot_comparison(rows, path: str | os.PathLike) -> None:
    """Four panels: λex and ⟨λex⟩; spin polarisation vs magnet layers; t⊥ at Γ and K; the model's
    Δo and FWHM change for the DFT field along c and in the plane."""
    labels = [_label(r.name) for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.6), dpi=150)
    ax = axes[0, 0]
    _bars(ax, labels, {"λex (own stacking)": [r.lambda_ex_meV for r in rows],
                       "⟨λex⟩ (lateral shifts)": [r.lambda_ex_avg_meV for r in rows]},
          {"⟨λex⟩ (lateral shifts)": [abs(r.lambda_ex_avg_error_meV or 0) for r in rows]})
    ax.set_ylabel("exchange splitting (meV)")
    ax.set_title("(a) proximity exchange", fontsize=9)
    ax = axes[0, 1]
    for r, lab in zip(rows, labels):
        n = sorted(r.spin_polarization, key=int)
        transfer = r.vbm_minus_fermi_eV > 0      # valence band above E_F: no tunnelling barrier (dashed)
        ax.plot([int(k) for k in n], [r.spin_polarization[k] for k in n], "--o" if transfer else "-o", ms=4,
                label=lab + (" (VBM > $E_F$)" if transfer else ""))
    ax.set_xticks(sorted({int(k) for r in rows for k in r.spin_polarization}))
    ax.set_xlabel("magnet layers")
    ax.set_ylabel("spin polarisation P (WKB)")
    ax.set_ylim(min([-0.05] + [p - 0.05 for r in rows for p in r.spin_polarization.values()]), 1.05)
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=7)
    ax.set_title("(b) spin filter", fontsize=9)
    ax = axes[1, 0]
    _bars(ax, labels, {"t⊥(Γ)": [r.t_perp_Gamma_meV for r in rows], "t⊥(K)": [r.t_perp_K_meV for r in rows]})
    ax.set_ylabel(r"$t_\perp$ (meV)")
    ax.set_title("(c) interlayer hopping through the magnet", fontsize=9)
    ax = axes[1, 1]
    if any(r.model for r in rows):
        _bars(ax, labels, {f"{q} {d}": [_relative(r.model, key_d, key_q) for r in rows]
                           for q, key_q in (("Δo", "delta_o"), ("FWHM", "fwhm"))
                           for d, key_d in (("B∥c", "par"), ("B⊥c", "perp"))})
        ax.set_yscale("symlog", linthresh=100)     # Δo within ±100 %, FWHM up to ×10s
        ax.set_ylabel("change against B = 0 (%), −100: normal state")
    else:
        ax.text(0.5, 0.5, "model hand-off off (model.from_dft.enabled)", ha="center", transform=ax.transAxes)
    ax.set_title("(d) tunnelling signature with the DFT field", fontsize=9)
    _save(fig, path)
