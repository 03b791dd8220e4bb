"""Material-library entries from structure files: a monolayer, or one layer cut out of a layered crystal.

A library entry may give ``structure_file`` (any format ASE reads: CIF, POSCAR, extxyz, …; a path
relative to the library file) instead of ``sites``.  The file holds a monolayer (with vacuum) or a
layered bulk crystal; the layers are the slabs between gaps in the atoms' heights of more than
``min_gap_angstrom`` (a van der Waals gap or vacuum), and ``layer_index`` picks one (counted from
the bottom of the cell).  The a and b axes must lie in the layers' plane.  Derived: the in-plane
lattice, the sites (in-plane fractions and heights above the reference plane), the formula, the
reference plane (the element nearest the layer's mid-plane, unless ``plane_element`` is given) and
the initial moments (``magmoms`` per element, else the file's, else :data:`DEFAULT_MAGMOMS_MUB`).
Definitions: ``docs/structures.md`` (section "Materials from structure files").
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from isingflow.structures.errors import StructureError
from isingflow.structures.materials import composition, formula

DEFAULT_MIN_GAP_ANGSTROM = 2.0
"""Smallest gap in the atoms' heights that separates two layers (intralayer height steps of the
TMDs and trihalides are ≤ 1.7 Å; their van der Waals gaps ≥ 2.9 Å)."""

OVERLAP_ANGSTROM = 0.5
"""Two atoms closer than this are a broken file, not a structure."""

DEFAULT_MAGMOMS_MUB = {"V": 2.0, "Cr": 3.0, "Mn": 5.0, "Fe": 5.0, "Co": 3.0, "Ni": 2.0}
"""Starting moments of a magnet's transition-metal ions where neither the entry nor the file gives
one: high-spin V³⁺ (d²), Cr³⁺ (d³), Mn²⁺ (d⁵), Fe³⁺ (d⁵), Co²⁺ (d⁷), Ni²⁺ (d⁸).  A start only; the
SCF finds the moment."""


def _read(path: Path):
    from ase.io import read

    if not path.is_file():
        raise StructureError(f"{path}: structure file not found")
    try:
        return read(str(path))
    except Exception as exc:  # noqa: BLE001 - ASE raises many kinds; the message names the file
        raise StructureError(f"{path}: unreadable structure file ({type(exc).__name__}: {exc})") from None


def _check_overlaps(atoms, path: Path) -> None:
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, OVERLAP_ANGSTROM)
    if len(d):
        k = int(np.argmin(d))
        raise StructureError(f"{path}: overlapping atoms {i[k]} and {j[k]} ({d[k]:.3f} Å apart, "
                             f"< {OVERLAP_ANGSTROM} Å)")


def split_layers(z_angstrom: np.ndarray, period_angstrom: float, min_gap_angstrom: float) -> list[np.ndarray]:
    """Indices of the atoms of every layer, bottom to top, from their heights in a cell of height
    ``period_angstrom`` (periodic): the slabs between gaps larger than ``min_gap_angstrom``."""
    z = np.mod(np.asarray(z_angstrom, dtype=float), period_angstrom)
    order = np.argsort(z)
    zs = z[order]
    gaps = np.diff(np.r_[zs, zs[0] + period_angstrom])      # the last gap wraps around the cell
    cuts = np.nonzero(gaps > min_gap_angstrom)[0]
    if len(cuts) == 0:
        return []
    start = (cuts[-1] + 1) % len(zs)                         # the first atom above the widest-wrapped gap
    rolled = np.roll(order, -start)
    bounds = sorted((c - start) % len(zs) + 1 for c in cuts)
    layers, lo = [], 0
    for hi in bounds:
        layers.append(rolled[lo:hi])
        lo = hi
    return layers


def _unwrapped_heights(z: np.ndarray, period: float) -> np.ndarray:
    """Heights of one layer's atoms made contiguous across the cell boundary."""
    z = np.mod(z, period)
    if z.max() - z.min() > period / 2:
        z = np.where(z < period / 2, z + period, z)
    return z


def _plane_element(symbols: list[str], z: np.ndarray) -> str:
    mid = 0.5 * (z.max() + z.min())
    return min(sorted(set(symbols)), key=lambda el: np.mean([abs(zz - mid) for s, zz in zip(symbols, z) if s == el]))


def layer_from_file(path: str | Path, layer_index: int = 0,
                    min_gap_angstrom: float = DEFAULT_MIN_GAP_ANGSTROM) -> dict[str, Any]:
    """One layer of the structure file ``path``: in-plane cell (Å), symbols, in-plane fractions,
    Cartesian heights (Å), the file's initial moments and how many layers the cell holds."""
    path = Path(path)
    atoms = _read(path)
    if len(atoms) == 0:
        raise StructureError(f"{path}: no atoms")
    cell = np.asarray(atoms.cell)
    if np.linalg.matrix_rank(cell) < 3:
        raise StructureError(f"{path}: the cell must be three-dimensional (a, b in the layers' plane, c across)")
    if abs(cell[0, 2]) > 1e-3 or abs(cell[1, 2]) > 1e-3:
        raise StructureError(f"{path}: the a and b axes must lie in the plane of the layers (z components "
                             f"{cell[0, 2]:.3f}, {cell[1, 2]:.3f} Å)")
    atoms.pbc = True
    _check_overlaps(atoms, path)
    period = abs(float(cell[2, 2]))
    pos = atoms.get_positions()
    layers = split_layers(pos[:, 2], period, min_gap_angstrom)
    if not layers:
        raise StructureError(f"{path}: not layered: no gap of more than {min_gap_angstrom} Å between the atoms' "
                             "heights (no van der Waals gap or vacuum along c)")
    if not 0 <= layer_index < len(layers):
        raise StructureError(f"{path}: layer_index {layer_index} out of range (the cell holds {len(layers)} layers)")
    idx = np.sort(layers[layer_index])
    symbols = [atoms.get_chemical_symbols()[i] for i in idx]
    comps = {tuple(sorted(composition(atoms.get_chemical_symbols()[i] for i in lay).items())) for lay in layers}
    if len(comps) > 1:
        raise StructureError(f"{path}: its {len(layers)} layers differ in composition; "
                             "pick a file of one kind of layer")
    a2 = cell[:2, :2]
    frac = np.linalg.solve(a2.T, pos[idx, :2].T).T % 1.0
    z = _unwrapped_heights(pos[idx, 2], period)
    return {"cell_2d": a2, "symbols": symbols, "frac": frac, "z_angstrom": z,
            "magmoms": atoms.get_initial_magnetic_moments()[idx], "n_layers": len(layers),
            "period_angstrom": period}


def sites_from_file(where: str, entry: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
    """The fields of a library entry (lattice, plane element, sites, formula) from its ``structure_file``."""
    path = (base_dir / str(entry["structure_file"])).resolve()
    layer = layer_from_file(path, int(entry.get("layer_index", 0)),
                            float(entry.get("min_gap_angstrom", DEFAULT_MIN_GAP_ANGSTROM)))
    a1, a2 = layer["cell_2d"]
    a, b = float(np.linalg.norm(a1)), float(np.linalg.norm(a2))
    gamma = math.degrees(math.acos(float(np.dot(a1, a2)) / (a * b)))
    symbols, z = layer["symbols"], layer["z_angstrom"]
    plane = str(entry.get("plane_element") or _plane_element(symbols, z))
    if plane not in symbols:
        raise StructureError(f"{where}: plane_element {plane!r} is not in the layer cut from {path.name}")
    z0 = float(np.mean([zz for s, zz in zip(symbols, z) if s == plane]))
    given = {str(k): float(v) for k, v in (entry.get("magmoms") or {}).items()}
    file_m = layer["magmoms"]
    default_m = DEFAULT_MAGMOMS_MUB if entry.get("role") == "magnet" else {}
    sites = []
    for s, f, zz, mf in zip(symbols, layer["frac"], z, file_m):
        m = given.get(s, float(mf) if np.any(file_m) else default_m.get(s, 0.0))
        sites.append({"element": s, "frac": [float(f[0]), float(f[1])], "z_angstrom": float(zz - z0), "magmom": m})
    if entry.get("role") == "magnet" and not any(abs(x["magmom"]) > 0 for x in sites):
        raise StructureError(f"{where}: a magnet with no moment: give `magmoms` (element → µB) in the entry, "
                             f"moments in {path.name}, or an element of {sorted(DEFAULT_MAGMOMS_MUB)}")
    return {"a_angstrom": a, "b_angstrom": b, "gamma_deg": gamma, "plane_element": plane, "sites": sites,
            "formula": formula(sorted(symbols)), "structure_file_resolved": str(path),
            "n_layers_in_file": layer["n_layers"],
            # a bulk crystal's repeat per layer (c⊥ / layers in the cell); a slab's period is its vacuum
            **({"layer_spacing_angstrom": layer["period_angstrom"] / layer["n_layers"]}
               if layer["n_layers"] > 1 else {})}
