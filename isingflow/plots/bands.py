"""Band-structure figures."""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np

from isingflow.dft.bandfile import BandStructure
from isingflow.provenance import atomic_path

_PRETTY = {"G": "Γ", "K": "K", "M": "M", "L": "Λ"}


def decorate_band_axes(ax, x, path_labels, window_eV) -> None:
    """Special-point ticks and lines, the E_F line, limits and the energy label of a band plot."""
    ticks = [x[i] for i, _ in path_labels]
    ax.set_xticks(ticks, [_PRETTY.get(lab, lab) for _, lab in path_labels])
    for t in ticks:
        ax.axvline(t, color="k", lw=0.5)
    ax.axhline(0.0, color="k", lw=0.6, ls="--")
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(*window_eV)
    ax.set_ylabel(r"$E - E_F$ (eV)")


def plot_spin_bands(bands_soc: BandStructure, bands_nosoc: BandStructure | None, path: str | os.PathLike,
                    title: str = "", window_eV: tuple[float, float] = (-1.5, 1.5),
                    inset_text: str | None = None) -> None:
    """Bands along the path relative to E_F, SOC states coloured by ⟨σz⟩, non-SOC in grey."""
    x = bands_soc.path_distance()
    fig, ax = plt.subplots(figsize=(5.2, 4.2), dpi=150)
    if bands_nosoc is not None:
        xn = bands_nosoc.path_distance()
        for s in range(bands_nosoc.nspins):
            for n in range(bands_nosoc.nbands):
                ax.plot(xn, bands_nosoc.eigenvalues[s, :, n] - bands_nosoc.fermi_level,
                        color="0.7", lw=0.8, zorder=1)
    e = bands_soc.eigenvalues[0] - bands_soc.fermi_level
    sz = bands_soc.spin_expectation[:, :, 2] if bands_soc.spin_expectation is not None else np.zeros_like(e)
    xx = np.repeat(x[:, None], e.shape[1], axis=1)
    sc = ax.scatter(xx.ravel(), e.ravel(), c=sz.ravel(), cmap="coolwarm", vmin=-1, vmax=1, s=4, zorder=2)
    cb = fig.colorbar(sc, ax=ax, pad=0.02)
    cb.set_label(r"$\langle\sigma_z\rangle$")
    decorate_band_axes(ax, x, bands_soc.path_labels, window_eV)
    if title:
        ax.set_title(title, fontsize=10)
    if inset_text:
        ax.text(0.03, 0.03, inset_text, transform=ax.transAxes, fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.85, "lw": 0.3})
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
