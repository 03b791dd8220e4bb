"""Interatomic distances: the shortest one (periodic images included) and the overlap check."""
from __future__ import annotations

import math

import numpy as np

from isingflow.structures.errors import OverlapError


def minimum_distance(atoms, interlayer_only: bool = False, cutoff_angstrom: float = 6.0) -> tuple[float, int, int]:
    """Shortest interatomic distance (periodic images included) and the pair.

    Parameters
    ----------
    atoms
        The structure (``arrays["layer"]`` for ``interlayer_only``).
    interlayer_only
        Only pairs of atoms in different layers.
    cutoff_angstrom
        Neighbour search radius (Å).

    Returns
    -------
    (float, int, int)
        The distance (Å; ``inf`` if none within the cutoff) and the two atom indices (-1 if none).
    """
    from ase.neighborlist import neighbor_list

    if len(atoms) == 0:
        return math.inf, -1, -1
    i, j, d = neighbor_list("ijd", atoms, cutoff_angstrom, self_interaction=False)
    if interlayer_only and "layer" in atoms.arrays:
        lay = atoms.arrays["layer"]
        keep = lay[i] != lay[j]
        i, j, d = i[keep], j[keep], d[keep]
    if len(d) == 0:
        return math.inf, -1, -1
    k = int(np.argmin(d))
    return float(d[k]), int(i[k]), int(j[k])


def _pair_text(atoms, i, j, d, limit, what):
    lay = atoms.arrays.get("layer")
    li = f", layer {lay[i]}" if lay is not None else ""
    lj = f", layer {lay[j]}" if lay is not None else ""
    return (f"atoms {i} ({atoms[i].symbol}{li}) and {j} ({atoms[j].symbol}{lj}) are {d:.3f} Å apart, "
            f"below {what} = {limit:g} Å")


def check_min_distance(atoms, min_distance_angstrom: float, min_interlayer_angstrom: float | None = None) -> None:
    """Raise :class:`OverlapError` if two atoms (in-plane periodic images included) are too close.

    Parameters
    ----------
    atoms
        The structure.
    min_distance_angstrom
        Smallest allowed distance of any two atoms (Å).
    min_interlayer_angstrom
        Smallest allowed distance of two atoms in different layers (``atoms.arrays["layer"]``).
    """
    d, i, j = minimum_distance(atoms)
    if d < min_distance_angstrom:
        raise OverlapError(_pair_text(atoms, i, j, d, min_distance_angstrom, "min_distance_angstrom"), (i, j), d)
    if min_interlayer_angstrom and "layer" in atoms.arrays:
        d, i, j = minimum_distance(atoms, interlayer_only=True)
        if d < min_interlayer_angstrom:
            raise OverlapError(_pair_text(atoms, i, j, d, min_interlayer_angstrom,
                                          "min_interlayer_distance_angstrom"), (i, j), d)
