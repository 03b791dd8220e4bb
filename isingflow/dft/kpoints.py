"""k-points for every code: the k-mesh from a density, the band path and its labels.

One rule for the mesh (:func:`kpoint_mesh`) and one converter from a band path to
``[(k_index, label)]`` (:func:`bandpath_labels`) serve GPAW, VASP and Quantum ESPRESSO alike,
so the three codes sample the same k-points for the same structure and settings.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def kpoint_mesh(atoms, density: float, slab: bool | None = None) -> list[int]:
    """Monkhorst–Pack sizes from a k-point density (points per 1/Å, 2π included; ASE convention).

    :func:`ase.calculators.calculator.kptdensity2monkhorstpack` (rounded up, odd allowed) along
    the periodic directions; one point along every non-periodic direction and along z of a
    slab (``slab=None``: not periodic in z, or a vacuum gap over 5 Å, see
    :func:`isingflow.dft._inputs.is_slab`).
    """
    from ase.calculators.calculator import kptdensity2monkhorstpack

    from isingflow.dft._inputs import is_slab

    at = atoms.copy()
    if slab is None:
        slab = is_slab(atoms)
    if slab:
        at.pbc = [at.pbc[0], at.pbc[1], False]
    sizes = kptdensity2monkhorstpack(at, kptdensity=density, even=False)
    return [max(1, int(n)) for n in sizes]


def band_path_for(atoms, path: str, npoints: int):
    """ASE ``BandPath`` along ``path`` (special-point letters) for the 2D/3D cell of ``atoms``."""
    return atoms.cell.bandpath(path, npoints=npoints, pbc=atoms.pbc)


def _label(name: str) -> str:
    return "G" if name in ("G", "Γ", "\\Gamma") else name


def bandpath_labels(bandpath) -> list[tuple[int, str]]:
    """``[(k_index, label)]`` of the special points of an ASE ``BandPath`` (Γ written "G")."""
    x, xspecial, names = bandpath.get_linear_kpoint_axis()
    return [(int(np.argmin(np.abs(x - xs))), _label(name)) for xs, name in zip(xspecial, names)]


def kpath_record(bandpath) -> dict[str, Any]:
    """A band path as the writers' plain form ``{"kpts": [[...]], "labels": [[i, "G"], ...]}``."""
    return {"kpts": np.asarray(bandpath.kpts).tolist(), "labels": bandpath_labels(bandpath)}


def normalise_kpath(kpath: Any) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A band path as (fractional k-points [n, 3], labels [(index, label)]).

    Accepts an ASE ``BandPath``; a dict ``{"kpts": [[...]], "labels": [[i, "G"], ...]}``;
    or a list of ``(k, label)`` pairs / bare 3-vectors (label ``""`` or None for unlabelled).
    """
    if kpath is None:
        raise ValueError("settings['kpath'] is required for calculation='bands'")
    if hasattr(kpath, "kpts") and hasattr(kpath, "get_linear_kpoint_axis"):
        return np.asarray(kpath.kpts, dtype=float), bandpath_labels(kpath)
    if isinstance(kpath, dict):
        kpts = np.asarray(kpath["kpts"], dtype=float)
        labels = [(int(i), str(s)) for i, s in kpath.get("labels", [])]
        return _check_kpts(kpts), labels
    kpts_list, labels = [], []
    for i, item in enumerate(kpath):
        if len(item) == 2 and np.ndim(item[0]) == 1:
            k, lab = item
            if lab:
                labels.append((i, str(lab)))
        else:
            k = item
        kpts_list.append(np.asarray(k, dtype=float))
    return _check_kpts(np.array(kpts_list)), labels


def _check_kpts(kpts: np.ndarray) -> np.ndarray:
    if kpts.ndim != 2 or kpts.shape[1] != 3 or len(kpts) == 0:
        raise ValueError(f"kpath: expected a list of fractional 3-vectors, got shape {kpts.shape}")
    return kpts


def special_point_labels(cell: np.ndarray | None, kpoints: np.ndarray,
                         indices: Sequence[int] | None = None, tol: float = 1e-4) -> list[tuple[int, str]]:
    """Label the k-points of a band path that coincide with a special point of ``cell``.

    ``kpoints`` are fractional; only ``indices`` (default: all) are considered.  Special points
    are ASE's for the Bravais lattice of ``cell`` (``cell.bandpath()``), transformed into the
    basis of ``cell``; a k-point matches a special point when they differ by a reciprocal
    lattice vector (within ``tol``).  Symmetry-equivalent copies that are not lattice
    translates (K' of K, the other X faces) are not labelled.  Returns ``[(k_index, label)]``
    in path order; ``[]`` when the cell is unknown or its lattice is not recognised.
    """
    if cell is None:
        return []
    try:
        from ase.cell import Cell

        special = Cell(np.asarray(cell, dtype=float)).bandpath(npoints=0).special_points
    except Exception:  # noqa: BLE001 - an unrecognised lattice just gives no labels
        return []
    kpoints = np.asarray(kpoints, dtype=float)
    idx = range(len(kpoints)) if indices is None else indices
    labels: list[tuple[int, str]] = []
    for i in idx:
        for name, frac in special.items():
            d = kpoints[i] - np.asarray(frac)
            if np.all(np.abs(d - np.round(d)) < tol):
                labels.append((int(i), name))
                break
    return labels


def record_path_labels(record: dict[str, Any] | None, nk: int) -> list[tuple[int, str]] | None:
    """Path labels the input writer stored for a band run with ``nk`` k-points (None if not usable)."""
    if not record or record.get("calculation") != "bands":
        return None
    labels = record.get("path_labels")
    if record.get("nkpts") != nk or not labels:
        return None
    return [(int(i), str(s)) for i, s in labels]
