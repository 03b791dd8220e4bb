"""Overview figure of a structure: top and side view, atoms coloured by element."""
from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np


def _radii(atoms) -> np.ndarray:
    from ase.data import covalent_radii

    return covalent_radii[atoms.numbers]


def plot_overview(atoms, path: str | os.PathLike, title: str = "",
                  mark_angstrom: Sequence[float] | None = None) -> None:
    """Top and side view of ``atoms`` (PNG), atoms coloured by element.

    Parameters
    ----------
    atoms
        The structure (the top view repeats small cells to about 10 Å).
    path
        The PNG written.
    title
        Figure title.
    mark_angstrom
        A position (x, y, z; Å) circled in the top view, e.g. a vacancy.
    """
    import matplotlib.pyplot as plt
    from ase.visualize.plot import plot_atoms

    from isingflow.provenance import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    reps = max(1, min(3, int(math.ceil(10.0 / max(np.linalg.norm(atoms.cell[0]), 1e-9)))))
    top = atoms.repeat((reps, reps, 1)) if reps > 1 else atoms
    r = 0.35 * _radii(top)[:, None]
    lo = (top.positions[:, :2] - r).min(axis=0) - 0.5
    hi = (top.positions[:, :2] + r).max(axis=0) + 0.5
    plot_atoms(top, axes[0], radii=0.35, rotation="0x,0y,0z", show_unit_cell=0, bbox=[*lo, *hi])
    if mark_angstrom is not None:  # image coordinates are x - bbox lower corner
        axes[0].plot(mark_angstrom[0] - lo[0], mark_angstrom[1] - lo[1], "o", ms=14, mfc="none",
                     mec="red", mew=2.0, label="vacancy")
        axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title("top view")
    plot_atoms(atoms, axes[1], radii=0.35, rotation="-90x,0y,0z", show_unit_cell=0)
    axes[1].set_title("side view")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
