"""In-plane lattices: the strain of a layer, and the search for a commensurate common cell.

Cells are 2×2 arrays of in-plane vectors (rows, Å); a supercell matrix ``M`` (2×2 integers, rows)
gives the supercell ``M @ primitive``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from isingflow.structures.errors import StructureError


def as_int_matrix(m, what: str = "supercell") -> np.ndarray:
    """``m`` as a 2×2 integer matrix with a positive determinant (:class:`StructureError` if not)."""
    arr = np.asarray(m)
    if arr.shape != (2, 2):
        raise StructureError(f"{what} must be a 2×2 integer matrix, got {m!r}")
    if not np.allclose(arr, np.round(arr)):
        raise StructureError(f"{what} must have integer entries, got {m!r}")
    arr = np.round(arr).astype(int)
    if round(np.linalg.det(arr)) <= 0:
        raise StructureError(f"{what} {arr.tolist()} must have a positive determinant")
    return arr


def layer_strain(natural_cell, target_cell) -> dict[str, Any]:
    """Strain that maps a layer's natural in-plane cell onto the target cell.

    Parameters
    ----------
    natural_cell, target_cell
        2×2 arrays of in-plane cell vectors (rows, Å).

    Returns
    -------
    dict
        ``biaxial_percent`` (areal: √det F − 1), ``principal_percent`` (the two principal
        stretches − 1), ``max_abs_percent``, ``tensor_percent`` (right stretch U − 1, Cartesian)
        and ``twist_deg`` (the rigid rotation of the polar decomposition F = R U).
    """
    nat = np.asarray(natural_cell, float)
    tgt = np.asarray(target_cell, float)
    g = np.linalg.solve(nat, tgt)  # nat @ g = tgt (row vectors)
    f = g.T  # deformation gradient acting on column vectors
    w, v = np.linalg.eigh(f.T @ f)
    stretches = np.sqrt(np.clip(w, 0, None))
    u = v @ np.diag(stretches) @ v.T
    r = f @ np.linalg.inv(u)
    principal = 100.0 * (stretches - 1.0)
    return {
        "biaxial_percent": float(100.0 * (math.sqrt(abs(np.linalg.det(f))) - 1.0)),
        "principal_percent": [float(p) for p in sorted(principal)],
        "max_abs_percent": float(np.max(np.abs(principal))),
        "tensor_percent": (100.0 * (u - np.eye(2))).round(6).tolist(),
        "twist_deg": float(math.degrees(math.atan2(r[1, 0], r[0, 0]))),
    }


def round_strain(strain: Mapping[str, Any], digits: int = 6) -> dict:
    """A :func:`layer_strain` record rounded for the manifest (no ``-0.0``)."""
    out = {}
    for k, v in strain.items():
        out[k] = np.round(np.asarray(v, float), digits).tolist() if not isinstance(v, float) else round(v, digits)
        if isinstance(out[k], float) and out[k] == 0:
            out[k] = 0.0
    return out


def _sublattices(n: int) -> Iterable[np.ndarray]:
    """All index-``n`` sublattices of Z² as row-Hermite matrices [[a, 0], [b, c]], 0 ≤ b < a."""
    for a in range(1, n + 1):
        if n % a:
            continue
        c = n // a
        for b in range(a):
            yield np.array([[a, 0], [b, c]], dtype=int)


def _reduce_basis(m: np.ndarray, prim: np.ndarray) -> np.ndarray:
    """Lagrange-reduce the supercell ``m @ prim`` (right-handed; 120° for equal lengths)."""
    m = m.copy()
    for _ in range(100):
        c = m @ prim
        if np.dot(c[0], c[0]) > np.dot(c[1], c[1]) + 1e-9:
            m = m[::-1].copy()
            continue
        mu = round(float(np.dot(c[0], c[1]) / np.dot(c[0], c[0])))
        if mu == 0:
            break
        m[1] -= mu * m[0]
    c = m @ prim
    if np.linalg.det(c) < 0:
        m[1] = -m[1]
        c = m @ prim
    if np.dot(c[0], c[1]) > 1e-9 and abs(np.linalg.norm(c[1] - c[0]) - np.linalg.norm(c[1])) < 1e-6:
        m[1] -= m[0]
    return m


@dataclass
class CommensurateCell:
    """A common in-plane cell of several layers.

    Attributes
    ----------
    supercells
        One 2×2 integer matrix per layer (rows; supercell = M @ primitive cell of that layer).
    cell_angstrom
        The common in-plane cell (rows, Å): the reference layer's supercell, unstrained.
    strains
        :func:`layer_strain` of each layer (zero for the reference layer).
    n_atoms
        Atoms in the cell (when the number of atoms per primitive cell was given).
    """

    supercells: list[np.ndarray]
    cell_angstrom: np.ndarray
    strains: list[dict]
    n_atoms: int | None = None

    @property
    def max_abs_strain_percent(self) -> float:
        """The largest principal strain of any layer (%)."""
        return max(s["max_abs_percent"] for s in self.strains)


def commensurate_from_supercells(cells_2d: Sequence[np.ndarray], supercells: Sequence, reference_layer: int = 0,
                                 atoms_per_cell: Sequence[int] | None = None) -> CommensurateCell:
    """The common cell for given supercell matrices (the reference layer's supercell, unstrained)."""
    ms = [as_int_matrix(m, f"layers[{i}].supercell") for i, m in enumerate(supercells)]
    target = ms[reference_layer] @ np.asarray(cells_2d[reference_layer], float)
    strains = [layer_strain(m @ np.asarray(c, float), target) for m, c in zip(ms, cells_2d)]
    n_atoms = None
    if atoms_per_cell is not None:
        n_atoms = int(sum(round(np.linalg.det(m)) * n for m, n in zip(ms, atoms_per_cell)))
    return CommensurateCell(ms, target, strains, n_atoms)


def _candidate(cells: list[np.ndarray], m_ref: np.ndarray, reference_layer: int) -> list[np.ndarray] | None:
    """Every layer's integer supercell closest to the reference supercell ``m_ref`` (None if one is degenerate)."""
    target = m_ref @ cells[reference_layer]
    ms = []
    for i, c in enumerate(cells):
        if i == reference_layer:
            ms.append(m_ref)
            continue
        mi = np.round(target @ np.linalg.inv(c)).astype(int)
        if round(np.linalg.det(mi)) <= 0:
            return None
        ms.append(mi)
    return ms


def find_commensurate_supercell(cells_2d: Sequence[np.ndarray], reference_layer: int = 0,
                                max_strain_percent: float = 5.0, max_cells: int = 16,
                                max_twist_deg: float = 0.1, atoms_per_cell: Sequence[int] | None = None,
                                n_candidates: int = 10) -> list[CommensurateCell]:
    """Small integer supercells of several 2D lattices that coincide within a strain tolerance.

    Every sublattice of the reference layer with at most ``max_cells`` primitive cells is tried
    as the common cell; each other layer gets the integer supercell closest to it and is strained
    onto it (the reference layer is never strained).

    Parameters
    ----------
    cells_2d
        In-plane primitive cells (2×2, rows, Å), one per layer.
    reference_layer
        Index of the layer whose lattice is kept.
    max_strain_percent
        Largest allowed principal strain of any layer (%).
    max_cells
        Largest reference supercell tried (number of reference primitive cells).
    max_twist_deg
        Largest allowed rigid rotation of a strained layer (0.1°: aligned layers only).
    atoms_per_cell
        Atoms per primitive cell of each layer, to rank by total atom count.
    n_candidates
        How many candidates to return.

    Returns
    -------
    list of CommensurateCell
        Sorted by atom count (or cell area), then by largest strain; empty if none fits.
    """
    cells = [np.asarray(c, float) for c in cells_2d]
    found: dict[tuple, CommensurateCell] = {}
    for n in range(1, max_cells + 1):
        for h in _sublattices(n):
            ms = _candidate(cells, _reduce_basis(h, cells[reference_layer]), reference_layer)
            if ms is None:
                continue
            cand = commensurate_from_supercells(cells, ms, reference_layer, atoms_per_cell)
            if cand.max_abs_strain_percent > max_strain_percent + 1e-9:
                continue
            if max(abs(s["twist_deg"]) for s in cand.strains) > max_twist_deg:
                continue
            found.setdefault(tuple(tuple(m.ravel()) for m in ms), cand)
    ranked = sorted(found.values(), key=lambda c: (c.n_atoms if c.n_atoms is not None
                                                   else abs(np.linalg.det(c.cell_angstrom)),
                                                   round(c.max_abs_strain_percent, 6)))
    return ranked[:n_candidates]
