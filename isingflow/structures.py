"""Structures: monolayer registry, commensurate stacks, registry × distance ensembles, vacancies.

Everything the DFT stage computes starts from a structure built here:

* :func:`load_materials` reads the monolayer prototypes of ``structures/*.yaml`` (lattice
  constant, internal coordinates, initial magnetic moments, cited source);
* :func:`build_monolayer` builds one layer with vacuum;
* :func:`find_commensurate_supercell` searches small integer in-plane supercells of several
  layers that coincide within a strain tolerance (one layer keeps its lattice, the others take
  the strain) and reports the strain of every layer;
* :func:`build_stack` stacks layers vertically; interlayer distances are vertical distances
  between the layers' reference planes (``plane_element``: Nb for NbSe2, Cr for CrBr3, so the
  NbSe2/CrBr3 distance is d_Cr–Nb), with vacuum and a minimum-interatomic-distance check;
* :func:`stacking_registries` enumerates lateral shifts of some layers against the others (a grid
  and/or the high-symmetry registries) and merges shifts that the symmetry of the fixed and the
  shifted layers makes equivalent, with multiplicities for stacking averages;
* :func:`vacancy_supercell` builds an N×N×1 supercell of a monolayer or a stack with one atom
  removed.

On top of these, the ``systems:`` section of the configuration describes the systems of the
pipeline (monolayers, stacks with their ensembles, vacancy supercells).  :func:`list_variants`
gives the variant names of a system from the configuration alone (Snakemake needs them when it
builds the DAG), :func:`validate_systems` builds every variant once and turns any problem into a
:class:`~isingflow.config.ConfigError` that names the config key, and :func:`write_system` writes
``<variant>.extxyz``, ``<variant>.cif`` and ``manifest.json`` of one system.

Conventions: lengths in Å, magnetic moments in µB.  Cells are stored as rows (ASE).  In-plane
fractional coordinates refer to the two in-plane cell vectors; the third cell vector is along z
and the slab is non-periodic along it (``pbc = (True, True, False)``) with ``vacuum`` Å of empty
space on each side.  Every atom carries its layer index (``atoms.arrays["layer"]``, 0 = bottom)
and its initial moment (``atoms.get_initial_magnetic_moments()``).
"""
from __future__ import annotations

import copy
import math
import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import yaml

from isingflow.config import REPO_ROOT, ConfigError, profile_settings

REGISTRY_DIR = REPO_ROOT / "structures"
BASE = "base"
PRISTINE = "pristine"
KINDS = ("monolayer", "stack", "vacancy")
_Z_BOX = 100.0  # placeholder c length of a layer before vacuum is added

# Defaults of optional system keys (the schema documents the same values; a test checks them).
SYSTEM_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "min_distance_angstrom": 1.5,
    "min_interlayer_distance_angstrom": 2.2,
    "reference_layer": 0,
    "max_strain_percent": 5.0,
    "max_supercell_cells": 16,
    "max_twist_deg": 0.1,
    "distance_reference": "planes",
    "base_registry": [0.0, 0.0],
    "element": "Se",
    "position": "top",
    "magmom_near_vacancy": 0.0,
    "include_pristine": False,
}


class StructureError(ValueError):
    """A structure cannot be built as asked (unknown material, strain, overlap, ...)."""


class OverlapError(StructureError):
    """Two atoms are closer than the allowed minimum."""

    def __init__(self, message: str, pair: tuple[int, int], distance_angstrom: float):
        super().__init__(message)
        self.pair = pair
        self.distance_angstrom = distance_angstrom


class StrainError(StructureError):
    """A layer would need more strain than allowed (``layer`` is its index)."""

    def __init__(self, message: str, layer: int | None = None):
        super().__init__(message)
        self.layer = layer


# ======================================================================================
# Material registry
# ======================================================================================
@dataclass(frozen=True)
class Site:
    element: str
    frac: tuple[float, float]
    z_angstrom: float
    magmom: float = 0.0


@dataclass(frozen=True)
class Material:
    """One monolayer prototype of the registry."""

    name: str
    formula: str
    a_angstrom: float
    b_angstrom: float
    gamma_deg: float
    plane_element: str
    sites: tuple[Site, ...]
    source: str
    prototype: str = ""
    notes: str = ""
    path: str = ""

    @property
    def n_atoms(self) -> int:
        return len(self.sites)

    def cell_2d(self, a_angstrom: float | None = None) -> np.ndarray:
        """In-plane primitive vectors (rows, Å); ``a_angstrom`` rescales the lattice isotropically."""
        scale = 1.0 if a_angstrom is None else a_angstrom / self.a_angstrom
        g = math.radians(self.gamma_deg)
        return scale * np.array([[self.a_angstrom, 0.0],
                                 [self.b_angstrom * math.cos(g), self.b_angstrom * math.sin(g)]])

    def as_dict(self) -> dict:
        return {"name": self.name, "formula": self.formula, "a_angstrom": self.a_angstrom,
                "b_angstrom": self.b_angstrom, "gamma_deg": self.gamma_deg,
                "plane_element": self.plane_element, "source": self.source, "registry_file": _rel(self.path)}


def _rel(path: str | os.PathLike) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def registry_files(directory: str | os.PathLike | None = None) -> list[Path]:
    """The registry files (``structures/*.yaml``), sorted."""
    return sorted(Path(directory or REGISTRY_DIR).glob("*.yaml"))


_REGISTRY_CACHE: dict[tuple, dict[str, Material]] = {}


def load_materials(paths: Sequence[str | os.PathLike] | None = None) -> dict[str, Material]:
    """Read and check the material registry.

    Parameters
    ----------
    paths
        Registry YAML files; default: every ``structures/*.yaml`` of the repository.

    Returns
    -------
    dict
        Material name → :class:`Material`.

    Raises
    ------
    StructureError
        A malformed entry (the message names the file and the entry) or a name defined twice.
    """
    from ase.data import chemical_symbols

    files = [Path(p) for p in (paths if paths is not None else registry_files())]
    key = tuple((str(p), p.stat().st_mtime_ns) for p in files if p.exists())
    if key in _REGISTRY_CACHE:
        return dict(_REGISTRY_CACHE[key])
    materials: dict[str, Material] = {}
    for path in files:
        with open(path) as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, dict):
            raise StructureError(f"{path}: a material registry must be a mapping name -> entry")
        for name, entry in data.items():
            where = f"{path.name}: material '{name}'"
            if name in materials:
                raise StructureError(f"{where} is defined twice (also in {materials[name].path})")
            if not isinstance(entry, dict):
                raise StructureError(f"{where}: the entry must be a mapping")
            missing = [k for k in ("formula", "a_angstrom", "plane_element", "sites", "source") if k not in entry]
            if missing:
                raise StructureError(f"{where}: missing field(s) {missing}")
            sites = []
            for i, s in enumerate(entry["sites"]):
                try:
                    el, frac, z = s["element"], s["frac"], s["z_angstrom"]
                except (KeyError, TypeError):
                    raise StructureError(f"{where}: sites[{i}] needs element, frac and z_angstrom") from None
                if el not in chemical_symbols[1:]:
                    raise StructureError(f"{where}: sites[{i}]: unknown element {el!r}")
                if len(frac) != 2:
                    raise StructureError(f"{where}: sites[{i}].frac must have two in-plane coordinates")
                sites.append(Site(el, (float(frac[0]), float(frac[1])), float(z), float(s.get("magmom", 0.0))))
            mat = Material(name=str(name), formula=str(entry["formula"]), a_angstrom=float(entry["a_angstrom"]),
                           b_angstrom=float(entry.get("b_angstrom", entry["a_angstrom"])),
                           gamma_deg=float(entry.get("gamma_deg", 120.0)),
                           plane_element=str(entry["plane_element"]), sites=tuple(sites),
                           source=str(entry["source"]).strip(), prototype=str(entry.get("prototype", "")),
                           notes=str(entry.get("notes", "")).strip(), path=str(path))
            if mat.a_angstrom <= 0 or mat.b_angstrom <= 0 or not 10 < mat.gamma_deg < 170:
                raise StructureError(f"{where}: bad lattice (a, b > 0 and 10° < gamma < 170° needed)")
            if mat.plane_element not in {s.element for s in sites}:
                raise StructureError(f"{where}: plane_element {mat.plane_element!r} is not one of its sites")
            if not _same_stoichiometry(_composition([s.element for s in sites]), _parse_formula(mat.formula)):
                raise StructureError(f"{where}: sites {_formula([s.element for s in sites])} do not match "
                                     f"formula {mat.formula!r}")
            materials[mat.name] = mat
    _REGISTRY_CACHE[key] = dict(materials)
    return materials


def get_material(material: str | Material, materials: Mapping[str, Material] | None = None) -> Material:
    """Look up ``material`` in the registry (a :class:`Material` is passed through)."""
    if isinstance(material, Material):
        return material
    materials = load_materials() if materials is None else materials
    if material not in materials:
        raise StructureError(f"unknown material {material!r} (known: {', '.join(sorted(materials))})")
    return materials[material]


# ======================================================================================
# Small helpers
# ======================================================================================
def _parse_formula(formula: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for el, n in re.findall(r"([A-Z][a-z]?)(\d*)", formula):
        out[el] = out.get(el, 0) + (int(n) if n else 1)
    return out


def _same_stoichiometry(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """Whether compositions ``a`` and ``b`` are integer multiples of one formula unit."""
    if set(a) != set(b) or not a:
        return False
    ratio = {a[k] / b[k] for k in a}
    return len({round(r, 9) for r in ratio}) == 1


def _composition(symbols: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in symbols:
        out[s] = out.get(s, 0) + 1
    return out


def _formula(symbols: Iterable[str]) -> str:
    """Formula in order of first appearance, e.g. ``Nb8Se16Cr2Br6``."""
    return "".join(f"{el}{n if n > 1 else ''}" for el, n in _composition(symbols).items())


def _as_int_matrix(m, what: str = "supercell") -> np.ndarray:
    arr = np.asarray(m)
    if arr.shape != (2, 2):
        raise StructureError(f"{what} must be a 2×2 integer matrix, got {m!r}")
    if not np.allclose(arr, np.round(arr)):
        raise StructureError(f"{what} must have integer entries, got {m!r}")
    arr = np.round(arr).astype(int)
    if round(np.linalg.det(arr)) <= 0:
        raise StructureError(f"{what} {arr.tolist()} must have a positive determinant")
    return arr


def _wrap01(x: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    x = np.mod(x, 1.0)
    x[np.abs(x - 1.0) < tol] = 0.0
    x[np.abs(x) < tol] = 0.0
    return x


def _round_strain(strain: Mapping[str, Any], digits: int = 6) -> dict:
    out = {}
    for k, v in strain.items():
        out[k] = np.round(np.asarray(v, float), digits).tolist() if not isinstance(v, float) else round(v, digits)
        if isinstance(out[k], float) and out[k] == 0:
            out[k] = 0.0
    return out


def _fmt(x: float, digits: int) -> str:
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


# ======================================================================================
# Monolayers
# ======================================================================================
def layer_atoms(material: str | Material, a_angstrom: float | None = None, supercell=None,
                shift_frac: Sequence[float] = (0.0, 0.0), magmoms: Mapping[str, float] | None = None,
                materials: Mapping[str, Material] | None = None, rotation_deg: float = 0.0):
    """One layer (no vacuum yet): z measured from the layer's ``plane_element`` plane.

    Parameters
    ----------
    material
        Registry name or :class:`Material`.
    a_angstrom
        In-plane lattice constant; default: the registry value.
    supercell
        2×2 integer matrix ``M`` (rows): the supercell vectors are ``M @ primitive_cell``.
    shift_frac
        Lateral shift of the layer, in fractions of its primitive vectors.
    magmoms
        Element → initial moment (µB), overriding the registry.
    rotation_deg
        Rotate the atoms (not the cell) about z through the origin; it must map the lattice onto
        itself (hexagonal: multiples of 60°; 180° turns 1H-NbSe2 into its 2H partner layer).

    Returns
    -------
    ase.Atoms
        With ``arrays["initial_magmoms"]`` set and ``pbc = (True, True, False)``.
    """
    from ase import Atoms
    from ase.build import make_supercell

    mat = get_material(material, materials)
    a2 = mat.cell_2d(a_angstrom)
    cell = np.zeros((3, 3))
    cell[:2, :2] = a2
    cell[2, 2] = _Z_BOX
    frac = np.array([s.frac for s in mat.sites]) + np.asarray(shift_frac, float)
    xy = frac @ a2
    if rotation_deg:
        th = math.radians(rotation_deg)
        rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        image = (a2 @ rot.T) @ np.linalg.inv(a2)  # rotated lattice vectors in lattice coordinates
        if not np.allclose(image, np.round(image), atol=1e-6):
            raise StructureError(f"rotation_deg = {rotation_deg:g} does not map the {mat.name} lattice onto itself "
                                 f"(hexagonal lattices: multiples of 60)")
        xy = xy @ rot.T
    pos = np.column_stack([xy, [s.z_angstrom for s in mat.sites]])
    moms = [(magmoms or {}).get(s.element, s.magmom) for s in mat.sites]
    prim = Atoms([s.element for s in mat.sites], positions=pos, cell=cell, pbc=(True, True, False))
    prim.set_initial_magnetic_moments(moms)
    prim.wrap()
    if supercell is None:
        return prim
    m = _as_int_matrix(supercell)
    p3 = np.eye(3, dtype=int)
    p3[:2, :2] = m
    sc = make_supercell(prim, p3)
    sc.pbc = (True, True, False)
    return sc


def _finish_slab(atoms, vacuum_angstrom: float):
    """Put ``vacuum_angstrom`` of empty space below and above the slab (in place)."""
    z = atoms.positions[:, 2]
    zmin, zmax = float(z.min()), float(z.max())
    atoms.positions[:, 2] += vacuum_angstrom - zmin
    cell = np.array(atoms.cell)
    cell[2] = [0.0, 0.0, zmax - zmin + 2.0 * vacuum_angstrom]
    atoms.set_cell(cell, scale_atoms=False)
    atoms.pbc = (True, True, False)
    atoms.wrap()
    return vacuum_angstrom - zmin  # the shift applied to z


def build_monolayer(material: str | Material, a_angstrom: float | None = None, vacuum_angstrom: float = 10.0,
                    supercell=None, magmoms: Mapping[str, float] | None = None,
                    min_distance_angstrom: float | None = 1.5,
                    materials: Mapping[str, Material] | None = None):
    """A monolayer slab with ``vacuum_angstrom`` of vacuum on each side.

    Parameters
    ----------
    material
        Registry name (e.g. ``"NbSe2"``) or :class:`Material`.
    a_angstrom
        In-plane lattice constant (default: registry value).
    vacuum_angstrom
        Vacuum on each side of the slab (Å).
    supercell
        Optional 2×2 in-plane supercell matrix.
    magmoms
        Element → initial magnetic moment (µB) overriding the registry.
    min_distance_angstrom
        Raise :class:`OverlapError` if two atoms are closer (``None``: no check).

    Returns
    -------
    ase.Atoms
        ``arrays["layer"]`` is 0 for every atom; ``info["plane_z_angstrom"]`` is the height of
        the reference plane.
    """
    mat = get_material(material, materials)
    atoms = layer_atoms(mat, a_angstrom, supercell, magmoms=magmoms)
    dz = _finish_slab(atoms, vacuum_angstrom)
    atoms.new_array("layer", np.zeros(len(atoms), dtype=int))
    atoms.info["plane_z_angstrom"] = round(float(dz), 9)
    if min_distance_angstrom:
        check_min_distance(atoms, min_distance_angstrom)
    return atoms


# ======================================================================================
# Strain and commensurate supercells
# ======================================================================================
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
        return max(s["max_abs_percent"] for s in self.strains)


def commensurate_from_supercells(cells_2d: Sequence[np.ndarray], supercells: Sequence, reference_layer: int = 0,
                                 atoms_per_cell: Sequence[int] | None = None) -> CommensurateCell:
    """The common cell for given supercell matrices (the reference layer's supercell, unstrained)."""
    ms = [_as_int_matrix(m, f"layers[{i}].supercell") for i, m in enumerate(supercells)]
    target = ms[reference_layer] @ np.asarray(cells_2d[reference_layer], float)
    strains = [layer_strain(m @ np.asarray(c, float), target) for m, c in zip(ms, cells_2d)]
    n_atoms = None
    if atoms_per_cell is not None:
        n_atoms = int(sum(round(np.linalg.det(m)) * n for m, n in zip(ms, atoms_per_cell)))
    return CommensurateCell(ms, target, strains, n_atoms)


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
    ref = cells[reference_layer]
    found: dict[tuple, CommensurateCell] = {}
    for n in range(1, max_cells + 1):
        for h in _sublattices(n):
            m_ref = _reduce_basis(h, ref)
            target = m_ref @ ref
            ms = []
            for i, c in enumerate(cells):
                if i == reference_layer:
                    ms.append(m_ref)
                    continue
                mi = np.round(target @ np.linalg.inv(c)).astype(int)
                if round(np.linalg.det(mi)) <= 0:
                    break
                ms.append(mi)
            else:
                cand = commensurate_from_supercells(cells, ms, reference_layer, atoms_per_cell)
                if cand.max_abs_strain_percent > max_strain_percent + 1e-9:
                    continue
                if max(abs(s["twist_deg"]) for s in cand.strains) > max_twist_deg:
                    continue
                key = tuple(tuple(m.ravel()) for m in ms)
                found.setdefault(key, cand)
    ranked = sorted(found.values(), key=lambda c: (c.n_atoms if c.n_atoms is not None
                                                   else abs(np.linalg.det(c.cell_angstrom)),
                                                   round(c.max_abs_strain_percent, 6)))
    return ranked[:n_candidates]


# ======================================================================================
# Stacks
# ======================================================================================
@dataclass
class LayerSpec:
    """One layer of a stack.

    Attributes
    ----------
    material
        Registry name or :class:`Material`.
    supercell
        2×2 integer supercell matrix (``None``: found by :func:`find_commensurate_supercell`).
    a_angstrom
        In-plane lattice constant before straining (default: registry).
    shift_frac
        Lateral shift in fractions of the layer's own primitive vectors.
    magmoms
        Element → initial moment (µB) overriding the registry.
    plane_element
        Element of the reference plane (default: registry ``plane_element``).
    rotation_deg
        Rotation of the layer's atoms about z (a lattice symmetry, e.g. 180° for 2H-like stacking).
    """

    material: str | Material
    supercell: Any = None
    a_angstrom: float | None = None
    shift_frac: Sequence[float] = (0.0, 0.0)
    magmoms: Mapping[str, float] | None = None
    plane_element: str | None = None
    rotation_deg: float = 0.0


def check_min_distance(atoms, min_distance_angstrom: float, min_interlayer_angstrom: float | None = None) -> None:
    """Raise :class:`OverlapError` if two atoms (in-plane periodic images included) are too close.

    ``min_interlayer_angstrom`` applies to pairs of atoms in different layers
    (``atoms.arrays["layer"]``).
    """
    d, i, j = minimum_distance(atoms)
    if d < min_distance_angstrom:
        raise OverlapError(_pair_text(atoms, i, j, d, min_distance_angstrom, "min_distance_angstrom"), (i, j), d)
    if min_interlayer_angstrom and "layer" in atoms.arrays:
        d, i, j = minimum_distance(atoms, interlayer_only=True)
        if d < min_interlayer_angstrom:
            raise OverlapError(_pair_text(atoms, i, j, d, min_interlayer_angstrom,
                                          "min_interlayer_distance_angstrom"), (i, j), d)


def _pair_text(atoms, i, j, d, limit, what):
    lay = atoms.arrays.get("layer")
    li = f", layer {lay[i]}" if lay is not None else ""
    lj = f", layer {lay[j]}" if lay is not None else ""
    return (f"atoms {i} ({atoms[i].symbol}{li}) and {j} ({atoms[j].symbol}{lj}) are {d:.3f} Å apart, "
            f"below {what} = {limit:g} Å")


def minimum_distance(atoms, interlayer_only: bool = False, cutoff_angstrom: float = 6.0) -> tuple[float, int, int]:
    """Shortest interatomic distance (periodic images included) and the pair; ``inf`` if none within cutoff."""
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


def _layer_spec(spec) -> LayerSpec:
    if isinstance(spec, LayerSpec):
        return spec
    if isinstance(spec, (str, Material)):
        return LayerSpec(spec)
    if isinstance(spec, Mapping):
        allowed = {"material", "supercell", "a_angstrom", "shift_frac", "magmoms", "plane_element", "rotation_deg"}
        return LayerSpec(**{k: v for k, v in spec.items() if k in allowed})
    raise StructureError(f"cannot interpret layer {spec!r}")


def resolve_commensurate(layers: Sequence[LayerSpec | Mapping | str], reference_layer: int = 0,
                         max_strain_percent: float = 5.0, max_cells: int = 16, max_twist_deg: float = 0.1,
                         materials: Mapping[str, Material] | None = None) -> CommensurateCell:
    """The common cell of ``layers``: from their ``supercell`` matrices if all are given, else searched.

    Raises
    ------
    StrainError
        A layer needs more strain (or twist) than allowed, or no supercell fits.
    """
    specs = [_layer_spec(s) for s in layers]
    if not 0 <= reference_layer < len(specs):
        raise StructureError(f"reference_layer {reference_layer} is not a layer index (0..{len(specs) - 1})")
    mats = [get_material(s.material, materials) for s in specs]
    cells = [m.cell_2d(s.a_angstrom) for m, s in zip(mats, specs)]
    napc = [m.n_atoms for m in mats]
    given = [s.supercell is not None for s in specs]
    if all(given):
        cand = commensurate_from_supercells(cells, [s.supercell for s in specs], reference_layer, napc)
        for i, st in enumerate(cand.strains):
            if st["max_abs_percent"] > max_strain_percent + 1e-9:
                raise StrainError(f"layer {i} ({mats[i].name}) would be strained by "
                                  f"{st['max_abs_percent']:.2f} %, more than max_strain_percent = "
                                  f"{max_strain_percent:g} %", layer=i)
            if abs(st["twist_deg"]) > max_twist_deg:
                raise StrainError(f"layer {i} ({mats[i].name}) would be rotated by {st['twist_deg']:.2f}°, "
                                  f"more than max_twist_deg = {max_twist_deg:g}°", layer=i)
        return cand
    if any(given):
        raise StructureError("give a supercell for every layer or for none (then it is searched)")
    found = find_commensurate_supercell(cells, reference_layer, max_strain_percent, max_cells, max_twist_deg, napc,
                                        n_candidates=1)
    if not found:
        raise StrainError(f"no commensurate supercell of at most {max_cells} reference cells keeps every "
                          f"layer within max_strain_percent = {max_strain_percent:g} % "
                          f"(lattice constants: {', '.join(f'{m.name} {np.linalg.norm(c[0]):.3f} Å' for m, c in zip(mats, cells))})")
    return found[0]


def build_stack(layers: Sequence[LayerSpec | Mapping | str], distances_angstrom: Sequence[float],
                vacuum_angstrom: float = 10.0, reference_layer: int = 0, max_strain_percent: float = 5.0,
                max_cells: int = 16, max_twist_deg: float = 0.1, distance_reference: str = "planes",
                shifts_angstrom: Mapping[int, Sequence[float]] | None = None,
                min_distance_angstrom: float | None = 1.5, min_interlayer_distance_angstrom: float | None = None,
                commensurate: CommensurateCell | None = None, materials: Mapping[str, Material] | None = None,
                return_metadata: bool = False):
    """A vertical stack of layers on a common (commensurate) in-plane cell.

    Parameters
    ----------
    layers
        Bottom to top: :class:`LayerSpec`, mappings with the same keys, or material names.
    distances_angstrom
        ``len(layers) - 1`` vertical distances between consecutive layers (Å).  With
        ``distance_reference="planes"`` (default) the distance between the layers'
        ``plane_element`` planes (for NbSe2/CrBr3: d_Cr–Nb, the Nb-plane to Cr-plane distance);
        with ``"surfaces"`` the gap between the top atom plane of the lower and the bottom atom
        plane of the upper layer.
    vacuum_angstrom
        Vacuum below and above the stack (Å).
    reference_layer, max_strain_percent, max_cells, max_twist_deg
        See :func:`resolve_commensurate`.
    shifts_angstrom
        Layer index → extra lateral (x, y) shift (Å), e.g. a stacking registry.
    min_distance_angstrom, min_interlayer_distance_angstrom
        Raise :class:`OverlapError` below these (``None``: no check).
    commensurate
        A precomputed :class:`CommensurateCell` (skips the search).
    return_metadata
        Also return a dict with per-layer supercells, strains, plane heights and distances.

    Returns
    -------
    ase.Atoms or (ase.Atoms, dict)
    """
    from ase import Atoms

    specs = [_layer_spec(s) for s in layers]
    if len(specs) < 2:
        raise StructureError("a stack needs at least two layers")
    if len(distances_angstrom) != len(specs) - 1:
        raise StructureError(f"{len(specs)} layers need {len(specs) - 1} interlayer distances, "
                             f"got {len(distances_angstrom)}")
    if distance_reference not in ("planes", "surfaces"):
        raise StructureError(f"distance_reference must be 'planes' or 'surfaces', not {distance_reference!r}")
    mats = [get_material(s.material, materials) for s in specs]
    comm = commensurate or resolve_commensurate(specs, reference_layer, max_strain_percent, max_cells,
                                                max_twist_deg, materials)
    target = comm.cell_angstrom
    parts, planes_z, layer_meta = [], [], []
    plane_prev = hi_prev = 0.0
    for i, (spec, mat, m) in enumerate(zip(specs, mats, comm.supercells)):
        lay = layer_atoms(mat, spec.a_angstrom, m, spec.shift_frac, spec.magmoms, rotation_deg=spec.rotation_deg)
        plane_el = spec.plane_element or mat.plane_element
        if plane_el not in lay.get_chemical_symbols():
            raise StructureError(f"layer {i}: plane_element {plane_el!r} is not in {mat.name}")
        natural = np.array(lay.cell)[:2, :2]
        frac = lay.positions[:, :2] @ np.linalg.inv(natural)
        zplane_local = float(np.mean(lay.positions[np.array(lay.get_chemical_symbols()) == plane_el, 2]))
        z = lay.positions[:, 2] - zplane_local
        if i == 0:
            plane = 0.0
        elif distance_reference == "planes":
            plane = plane_prev + float(distances_angstrom[i - 1])
        else:
            plane = hi_prev + float(distances_angstrom[i - 1]) - float(z.min())
        xy = frac @ target
        if shifts_angstrom and i in shifts_angstrom:
            xy = xy + np.asarray(shifts_angstrom[i], float)[:2]
        pos = np.column_stack([xy, z + plane])
        part = Atoms(lay.get_chemical_symbols(), positions=pos)
        part.set_initial_magnetic_moments(lay.get_initial_magnetic_moments())
        part.new_array("layer", np.full(len(part), i, dtype=int))
        parts.append(part)
        planes_z.append(plane)
        plane_prev, hi_prev = plane, plane + float(z.max())
        layer_meta.append({
            "index": i, "material": mat.name, "formula": _formula(lay.get_chemical_symbols()),
            "n_atoms": len(lay), "supercell_matrix": m.tolist(),
            "a_angstrom_unstrained": float(np.linalg.norm(mat.cell_2d(spec.a_angstrom)[0])),
            "strain": _round_strain(comm.strains[i]), "plane_element": plane_el,
            "shift_frac_own_cell": [float(x) for x in spec.shift_frac],
            "rotation_deg": float(spec.rotation_deg),
        })
    atoms = parts[0]
    for p in parts[1:]:
        atoms += p
    cell = np.zeros((3, 3))
    cell[:2, :2] = target
    cell[2, 2] = _Z_BOX
    atoms.set_cell(cell, scale_atoms=False)
    dz = _finish_slab(atoms, vacuum_angstrom)
    planes_z = [p + dz for p in planes_z]
    for meta, pz in zip(layer_meta, planes_z):
        meta["plane_z_angstrom"] = round(pz, 6)
    plane_dist = [planes_z[i + 1] - planes_z[i] for i in range(len(planes_z) - 1)]
    atoms.info["plane_z_angstrom"] = np.round(planes_z, 9)
    atoms.info["interlayer_distances_angstrom"] = np.round(plane_dist, 9)
    if min_distance_angstrom:
        check_min_distance(atoms, min_distance_angstrom, min_interlayer_distance_angstrom)
    if not return_metadata:
        return atoms
    meta = {"layers": layer_meta, "cell_2d_angstrom": target.tolist(),
            "plane_distances_angstrom": [round(d, 6) for d in plane_dist],
            "distance_reference": distance_reference,
            "distances_angstrom": [float(d) for d in distances_angstrom]}
    return atoms, meta


# ======================================================================================
# Stacking registries
# ======================================================================================
@dataclass
class Registry:
    """A lateral registry (shift) of the shifted layers, representative of its symmetry orbit.

    Attributes
    ----------
    frac
        Shift in fractions of the shift cell (see :class:`RegistrySet`), in [0, 1).
    multiplicity
        Number of sampled shifts equivalent to this one.
    weight
        ``multiplicity`` / number of sampled shifts (the weight in a stacking average).
    orbit
        The equivalent sampled shifts (shift-cell fractions).
    shift_angstrom
        Cartesian (x, y) shift (Å).
    high_symmetry
        Whether the orbit contains a high-symmetry registry.
    """

    frac: tuple[float, float]
    multiplicity: int
    weight: float
    orbit: list[tuple[float, float]]
    shift_angstrom: tuple[float, float]
    high_symmetry: bool = False


@dataclass
class RegistrySet:
    """Registries of one stack.

    Attributes
    ----------
    shift_cell_angstrom
        Rows: basis of the lattice of translations that leave the fixed or the shifted layers
        invariant; shifts differing by such a vector are the same stacking.  For 2×2 NbSe2 +
        1×1 CrBr3 it is the NbSe2 primitive cell.
    registries
        Symmetry-distinct registries, sorted by ``frac``.
    n_sampled
        Number of sampled shifts (grid ∪ high-symmetry points).
    n_operations
        Number of symmetry operations used to merge shifts.
    """

    shift_cell_angstrom: np.ndarray
    registries: list[Registry]
    n_sampled: int
    n_operations: int
    grid: int = 0
    high_symmetry: bool = True
    shifted_layers: list[int] = field(default_factory=list)


def _spglib_cell(atoms):
    return (np.array(atoms.cell), atoms.get_scaled_positions(wrap=True), atoms.numbers)


def _spglib(func: str, *args, **kwargs):
    """Call ``spglib.<func>`` (None on failure), without its deprecation chatter."""
    import warnings

    import spglib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return getattr(spglib, func)(*args, **kwargs)
        except Exception:  # noqa: BLE001 - spglib signals failure by None or by an exception
            return None


def _symmetry_ops(atoms, symprec: float):
    sym = _spglib("get_symmetry", _spglib_cell(atoms), symprec=symprec)
    if sym is None:
        return np.zeros((0, 3, 3), int), np.zeros((0, 3))
    rots, trans = np.asarray(sym["rotations"]), np.asarray(sym["translations"])
    ok = [k for k, r in enumerate(rots) if r[2, 0] == 0 and r[2, 1] == 0 and abs(r[2, 2]) == 1
          and r[0, 2] == 0 and r[1, 2] == 0]
    return rots[ok], trans[ok]


def _lattice_basis_2d(vectors_frac: Sequence[np.ndarray], cell2: np.ndarray) -> np.ndarray:
    """Reduced basis (rows, cell fractions) of the lattice generated by Z² and ``vectors_frac``."""
    cands = []
    pts = [np.zeros(2)] + [np.asarray(v, float) % 1.0 for v in vectors_frac]
    # close the finite group generated by the translations modulo Z²
    group = {tuple(np.round(p, 6) % 1.0) for p in pts}
    changed = True
    while changed:
        changed = False
        for a in list(group):
            for b in list(group):
                c = tuple(np.round((np.array(a) + np.array(b)) % 1.0, 6) % 1.0)
                if c not in group:
                    group.add(c)
                    changed = True
    for g in group:
        for i in (-1, 0, 1):
            for j in (-1, 0, 1):
                v = np.array(g) + (i, j)
                if np.linalg.norm(v) > 1e-9:
                    cands.append(v)
    cart = [v @ cell2 for v in cands]
    lengths = [np.linalg.norm(c) for c in cart]
    e1, e2 = cell2[0] / np.linalg.norm(cell2[0]), cell2[1] / np.linalg.norm(cell2[1])
    order = sorted(range(len(cands)), key=lambda k: (round(lengths[k], 6), -round(float(cart[k] @ e1) / lengths[k], 6)))
    b1 = cands[order[0]]
    c1 = b1 @ cell2
    rest = [k for k in order if _cross2(c1, cart[k]) > 1e-6 * lengths[k] * np.linalg.norm(c1)]
    lmin = round(lengths[rest[0]], 6)
    tied = [k for k in rest if round(lengths[k], 6) == lmin]
    k2 = max(tied, key=lambda k: float(cart[k] @ e2) / lengths[k])
    return np.array([b1, cands[k2]])


def _cross2(u, v) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _is_hexagonal(cell2: np.ndarray) -> bool:
    l1, l2 = np.linalg.norm(cell2[0]), np.linalg.norm(cell2[1])
    cosg = float(cell2[0] @ cell2[1]) / (l1 * l2)
    return abs(l1 - l2) < 1e-4 * l1 and abs(abs(cosg) - 0.5) < 1e-4


def high_symmetry_registries(shift_cell_angstrom: np.ndarray) -> list[tuple[float, float]]:
    """High-symmetry shifts in shift-cell fractions.

    Hexagonal shift cell (120° or 60°): the three three-fold registries (0, 0), (1/3, 2/3) and
    (2/3, 1/3) (AA/AB/BA-type stackings).  Otherwise the four two-fold points (0 or 1/2).
    """
    cell = np.asarray(shift_cell_angstrom, float)
    if _is_hexagonal(cell):
        if float(cell[0] @ cell[1]) < 0:  # 120°
            return [(0.0, 0.0), (1 / 3, 2 / 3), (2 / 3, 1 / 3)]
        return [(0.0, 0.0), (1 / 3, 1 / 3), (2 / 3, 2 / 3)]
    return [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)]


def stacking_registries(atoms, shifted_layers: Sequence[int], grid: int = 6, high_symmetry: bool = True,
                        symprec: float = 1e-3) -> RegistrySet:
    """Symmetry-distinct lateral registries of ``shifted_layers`` against the other layers.

    The sampled shifts are an ``grid`` × ``grid`` grid over the shift cell and, with
    ``high_symmetry``, the high-symmetry registries (:func:`high_symmetry_registries`).  Two
    shifts t and t' describe the same structure if t' = R t + τ_F − τ_S for a symmetry operation
    (R, τ_F) of the fixed layers and (R, τ_S) of the shifted layers with the same R (and the same
    vertical action), or if they differ by a translation of either part; such shifts are merged.

    Parameters
    ----------
    atoms
        The stack at zero shift, with ``arrays["layer"]``.
    shifted_layers
        Indices of the layers that move together.
    grid
        Grid points per shift-cell vector (0: no grid).
    high_symmetry
        Include the high-symmetry registries.
    symprec
        spglib tolerance (Å).

    Returns
    -------
    RegistrySet
    """
    lay = atoms.arrays["layer"]
    moving = np.isin(lay, list(shifted_layers))
    if not moving.any() or moving.all():
        raise StructureError(f"shifted_layers {list(shifted_layers)} must select some but not all layers")
    if grid < 0:
        raise StructureError("grid must be >= 0")
    fixed_atoms, moving_atoms = atoms[~moving], atoms[moving]
    rf, tf = _symmetry_ops(fixed_atoms, symprec)
    rm, tm = _symmetry_ops(moving_atoms, symprec)
    cell2 = np.array(atoms.cell)[:2, :2]
    ident = np.eye(3, dtype=int)
    pure = [t[:2] for r, t in zip(rf, tf) if (r == ident).all()] + [t[:2] for r, t in zip(rm, tm) if (r == ident).all()]
    basis = _lattice_basis_2d(pure, cell2)  # rows, cell fractions
    basis_inv = np.linalg.inv(basis)
    shift_cell = basis @ cell2
    # group action on shift-cell fractions p:  t = p @ basis;  t' = R2 t + delta
    ops = []
    for r1, t1 in zip(rf, tf):
        for r2, t2 in zip(rm, tm):
            if not (r1 == r2).all():
                continue
            dz = (t1[2] - t2[2] + 0.5) % 1.0 - 0.5
            if r1[2, 2] == -1 and abs(dz) * atoms.cell[2, 2] > 10 * symprec:
                continue
            if r1[2, 2] == 1 and (abs((t1[2] + 0.5) % 1.0 - 0.5) > 1e-6 or abs((t2[2] + 0.5) % 1.0 - 0.5) > 1e-6):
                continue
            ops.append((r1[:2, :2].astype(float), (t1 - t2)[:2]))
    hs = high_symmetry_registries(shift_cell) if high_symmetry else []
    denoms = [grid] if grid else []
    denoms += [Fraction(x).limit_denominator(12).denominator for p in hs for x in p]
    for _, delta in ops:
        pd = delta @ basis_inv
        denoms += [Fraction(float(x) % 1.0).limit_denominator(24).denominator for x in pd]
    big = 1
    for d in denoms:
        big = big * d // math.gcd(big, d)
    if big > 240:
        raise StructureError(f"registry grid too fine ({big}×{big} points)")

    def idx(p):
        q = np.round(np.asarray(p, float) * big).astype(int) % big
        return int(q[0]), int(q[1])

    sampled: set[tuple[int, int]] = set()
    if grid:
        step = big // grid
        sampled |= {(i * step, j * step) for i in range(grid) for j in range(grid)}
    hs_idx = {idx(p) for p in hs}
    sampled |= hs_idx
    parent = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent.setdefault(parent[a], parent[a])
            a = parent[a]
        return a

    for i in range(big):
        for j in range(big):
            p = np.array([i, j], float) / big
            t = p @ basis
            for r2, delta in ops:
                q = (r2 @ t + delta) @ basis_inv * big
                qi = np.round(q)
                if np.max(np.abs(q - qi)) > 1e-4:
                    continue
                a, b = find((i, j)), find((int(qi[0]) % big, int(qi[1]) % big))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    orbits: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for s in sorted(sampled):
        orbits.setdefault(find(s), []).append(s)
    regs = []
    n = len(sampled)
    for members in orbits.values():
        rep = min(members)
        frac = (rep[0] / big, rep[1] / big)
        shift = (np.array(frac) @ basis) @ cell2
        regs.append(Registry(frac=frac, multiplicity=len(members), weight=len(members) / n,
                             orbit=[(m[0] / big, m[1] / big) for m in members],
                             shift_angstrom=(float(shift[0]), float(shift[1])),
                             high_symmetry=any(m in hs_idx for m in members)))
    regs.sort(key=lambda r: r.frac)
    return RegistrySet(shift_cell_angstrom=shift_cell, registries=regs, n_sampled=n, n_operations=len(ops),
                       grid=grid, high_symmetry=high_symmetry, shifted_layers=list(shifted_layers))


def apply_registry(atoms, shifted_layers: Sequence[int], shift_angstrom: Sequence[float]):
    """A copy of ``atoms`` with ``shifted_layers`` moved laterally by ``shift_angstrom`` (x, y)."""
    out = atoms.copy()
    moving = np.isin(out.arrays["layer"], list(shifted_layers))
    out.positions[moving, 0] += shift_angstrom[0]
    out.positions[moving, 1] += shift_angstrom[1]
    out.wrap()
    return out


# ======================================================================================
# Vacancies
# ======================================================================================
def vacancy_supercell(atoms, n: int, element: str = "Se", index: int | None = None, position: str = "top",
                      layer: int | None = None, magmom_near_vacancy: float = 0.0, neighbour_element: str | None = None):
    """An N×N×1 supercell of ``atoms`` (monolayer or stack) with one atom removed.

    Parameters
    ----------
    atoms
        The primitive slab (with ``arrays["layer"]`` for stacks).
    n
        In-plane supercell size N (paper: 10 for NbSe2, 300 atoms before removal).
    element
        Element to remove (default Se), ignored if ``index`` is given.
    index
        Atom index in the supercell to remove (overrides the automatic choice).
    position
        ``"top"`` or ``"bottom"``: remove from the highest or lowest atomic plane of ``element``
        (in ``layer`` if given); among those the atom closest to the in-plane cell centre.
    layer
        Restrict the choice to this layer.
    magmom_near_vacancy
        Initial moment (µB) put on the nearest neighbours of the vacancy (seeds a spin-polarised
        solution; 0 keeps the registry moments).
    neighbour_element
        Only neighbours of this element get ``magmom_near_vacancy`` (default: any).

    Returns
    -------
    (ase.Atoms, dict)
        The defect supercell and a description (removed atom, its position, neighbours).
    """
    from ase.build import make_supercell

    if n < 1:
        raise StructureError("vacancy supercell N must be >= 1")
    p3 = np.diag([n, n, 1])
    sc = make_supercell(atoms, p3)
    sc.pbc = atoms.pbc
    symbols = np.array(sc.get_chemical_symbols())
    if index is None:
        cand = np.where(symbols == element)[0]
        if layer is not None and "layer" in sc.arrays:
            cand = cand[sc.arrays["layer"][cand] == layer]
        if len(cand) == 0:
            raise StructureError(f"no {element} atom to remove" + (f" in layer {layer}" if layer is not None else ""))
        z = sc.positions[cand, 2]
        if position not in ("top", "bottom"):
            raise StructureError(f"position must be 'top' or 'bottom', not {position!r}")
        zsel = z.max() if position == "top" else z.min()
        cand = cand[np.abs(z - zsel) < 0.1]
        centre = np.array(sc.cell)[:2, :2].sum(axis=0) / 2
        d = np.linalg.norm(sc.positions[cand, :2] - centre, axis=1)
        index = int(cand[np.lexsort((cand, np.round(d, 6)))[0]])
    if not 0 <= index < len(sc):
        raise StructureError(f"vacancy index {index} out of range (0..{len(sc) - 1})")
    removed = {"index_in_pristine": index, "element": sc[index].symbol,
               "position_angstrom": sc.positions[index].round(6).tolist()}
    if "layer" in sc.arrays:
        removed["layer"] = int(sc.arrays["layer"][index])
    dist = sc.get_distances(index, list(range(len(sc))), mic=True)
    dist[index] = np.inf
    if neighbour_element:
        dist[symbols != neighbour_element] = np.inf
    dmin = float(dist.min())
    neigh = [int(k) for k in np.where(dist < dmin + 0.1)[0]]
    # indices after removal
    removed["neighbours_after_removal"] = [k - (k > index) for k in neigh]
    removed["neighbour_distance_angstrom"] = round(dmin, 6)
    if magmom_near_vacancy:
        moms = sc.get_initial_magnetic_moments()
        moms[neigh] = magmom_near_vacancy
        sc.set_initial_magnetic_moments(moms)
    del sc[index]
    return sc, removed


# ======================================================================================
# Systems from the configuration
# ======================================================================================
def _key(system: str, *parts: str | int) -> str:
    out = f"systems.{system}"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _opt(spec: Mapping, name: str):
    return spec.get(name, SYSTEM_DEFAULTS[name])


def list_systems(config: Mapping) -> list[str]:
    """Names of the enabled systems, in configuration order."""
    return [name for name, spec in (config.get("systems") or {}).items() if _opt(spec, "enabled")]


def _system_spec(config: Mapping, system: str) -> dict:
    systems = config.get("systems") or {}
    if system not in systems:
        raise ConfigError(f"config key 'systems.{system}': no such system (defined: {', '.join(systems)})")
    return systems[system]


def _structure_settings(config: Mapping) -> dict:
    return profile_settings(config, "structures")


def _vacuum(config: Mapping, spec: Mapping) -> float:
    if "vacuum_angstrom" in spec:
        return float(spec["vacuum_angstrom"])
    return float(profile_settings(config, "dft")["vacuum_angstrom"])


def _materials_for(config: Mapping) -> dict[str, Material]:
    try:
        return load_materials()
    except StructureError as exc:
        raise ConfigError(f"material registry {REGISTRY_DIR}: {exc}") from exc


def _check_material(config, system, key_parts, name) -> Material:
    mats = _materials_for(config)
    if name not in mats:
        raise ConfigError(f"config key '{_key(system, *key_parts)}': unknown material {name!r} "
                          f"(known: {', '.join(sorted(mats))}; add one to structures/materials.yaml)")
    return mats[name]


@dataclass
class VariantPlan:
    """What one variant is: its name and the parameters that distinguish it."""

    name: str
    role: str  # base | ensemble | pristine
    distances_angstrom: list[float] | None = None
    registry: Registry | None = None
    distance_angstrom: float | None = None


def _stack_layers(config, system, spec) -> list[LayerSpec]:
    layers = spec.get("layers")
    if not isinstance(layers, list) or len(layers) < 2:
        raise ConfigError(f"config key '{_key(system, 'layers')}': a stack needs a list of at least two layers")
    out = []
    for i, lay in enumerate(layers):
        mat = _check_material(config, system, ("layers", i, "material"), lay.get("material"))
        sc = lay.get("supercell")
        if sc is not None:
            try:
                sc = _as_int_matrix(sc, "supercell")
            except StructureError as exc:
                raise ConfigError(f"config key '{_key(system, 'layers', i, 'supercell')}': {exc}") from None
        pe = lay.get("plane_element")
        if pe is not None and pe not in {s.element for s in mat.sites}:
            raise ConfigError(f"config key '{_key(system, 'layers', i, 'plane_element')}': {pe!r} is not an "
                              f"element of {mat.name}")
        for el in (lay.get("magmoms") or {}):
            if el not in {s.element for s in mat.sites}:
                raise ConfigError(f"config key '{_key(system, 'layers', i, 'magmoms', el)}': {el!r} is not an "
                                  f"element of {mat.name}")
        rot = float(lay.get("rotation_deg", 0.0))
        try:
            layer_atoms(mat, lay.get("a_angstrom"), rotation_deg=rot)
        except StructureError as exc:
            raise ConfigError(f"config key '{_key(system, 'layers', i, 'rotation_deg')}': {exc}") from None
        out.append(LayerSpec(material=mat, supercell=sc, a_angstrom=lay.get("a_angstrom"),
                             shift_frac=tuple(lay.get("shift_frac", (0.0, 0.0))), magmoms=lay.get("magmoms"),
                             plane_element=pe, rotation_deg=rot))
    return out


def _stack_distances(config, system, spec, seen=()) -> list[float]:
    """The base interlayer distances of a stack (possibly copied from another system)."""
    n = len(spec.get("layers") or [])
    has_d, has_from = "distances_angstrom" in spec, "same_separation_as" in spec
    if has_d == has_from:
        raise ConfigError(f"config key '{_key(system, 'distances_angstrom')}': give exactly one of "
                          f"'distances_angstrom' and 'same_separation_as'")
    if has_d:
        d = [float(x) for x in spec["distances_angstrom"]]
        if len(d) != n - 1:
            raise ConfigError(f"config key '{_key(system, 'distances_angstrom')}': {n} layers need {n - 1} "
                              f"distances, got {len(d)}")
        return d
    ref = spec["same_separation_as"]
    other = ref.get("system")
    key = _key(system, "same_separation_as", "system")
    if other == system or other in seen:
        raise ConfigError(f"config key '{key}': circular reference to {other!r}")
    ospec = (config.get("systems") or {}).get(other)
    if ospec is None or ospec.get("kind") != "stack":
        raise ConfigError(f"config key '{key}': {other!r} is not a stack system")
    lo, hi = ref.get("layers", [0, len(ospec["layers"]) - 1])
    if not 0 <= lo < hi < len(ospec["layers"]):
        raise ConfigError(f"config key '{_key(system, 'same_separation_as', 'layers')}': [{lo}, {hi}] are not two "
                          f"layers of {other!r}")
    if _opt(ospec, "distance_reference") != "planes" or _opt(spec, "distance_reference") != "planes":
        raise ConfigError(f"config key '{key}': same_separation_as needs distance_reference 'planes' in both systems")
    od = _stack_distances(config, other, ospec, seen + (system,))
    total = float(sum(od[lo:hi]))
    if n != 2:
        raise ConfigError(f"config key '{key}': same_separation_as is for two-layer stacks")
    return [total]


def _plan_stack(config, system, spec):
    """Layers, commensurate cell, base distances, zero-shift stack and the variant plans."""
    layers = _stack_layers(config, system, spec)
    ref = int(_opt(spec, "reference_layer"))
    if not 0 <= ref < len(layers):
        raise ConfigError(f"config key '{_key(system, 'reference_layer')}': {ref} is not a layer index "
                          f"(0..{len(layers) - 1})")
    try:
        comm = resolve_commensurate(layers, ref, float(_opt(spec, "max_strain_percent")),
                                    int(_opt(spec, "max_supercell_cells")), float(_opt(spec, "max_twist_deg")))
    except StrainError as exc:
        if exc.layer is not None and layers[exc.layer].supercell is not None:
            key = _key(system, "layers", exc.layer, "supercell")
        else:
            key = _key(system, "max_strain_percent")
        raise ConfigError(f"config key '{key}': {exc}") from None
    except StructureError as exc:
        raise ConfigError(f"config key '{_key(system, 'layers')}': {exc}") from None
    distances = _stack_distances(config, system, spec)
    plans = [VariantPlan(BASE, "base", distances_angstrom=distances)]
    ens = spec.get("ensemble")
    regsets = {}
    if ens:
        shifted = [int(i) for i in ens.get("shifted_layers", [])]
        bad = [i for i in shifted if not 0 <= i < len(layers)]
        if not shifted or bad or len(shifted) == len(layers):
            raise ConfigError(f"config key '{_key(system, 'ensemble', 'shifted_layers')}': {shifted} must name some "
                              f"but not all of the layers 0..{len(layers) - 1}")
        interfaces = ens.get("interfaces")
        if interfaces is None:
            interfaces = sorted({k for i in shifted for k in (i - 1, i) if 0 <= k < len(layers) - 1})
        if any(not 0 <= k < len(layers) - 1 for k in interfaces):
            raise ConfigError(f"config key '{_key(system, 'ensemble', 'interfaces')}': interface indices run over "
                              f"0..{len(layers) - 2}")
        settings = _structure_settings(config)
        if "distances_angstrom" in ens:
            dvals = sorted({round(float(x), 9) for x in ens["distances_angstrom"]})
        elif "distance_range_angstrom" in ens:
            lo, hi = (float(x) for x in ens["distance_range_angstrom"])
            if not 0 < lo <= hi:
                raise ConfigError(f"config key '{_key(system, 'ensemble', 'distance_range_angstrom')}': need "
                                  f"0 < min <= max, got [{lo}, {hi}]")
            nd = int(settings["n_distances"])
            dvals = [hi] if nd == 1 else sorted({round(x, 9) for x in np.linspace(lo, hi, nd).tolist()})
        else:
            dvals = [distances[interfaces[0]]] if interfaces else []
        ens_key = ("ensemble", "distances_angstrom" if "distances_angstrom" in ens else "distance_range_angstrom")
        digits = 2
        while len({_fmt(d, digits) for d in dvals}) < len(dvals) and digits < 6:
            digits += 1
        for d in dvals:
            dist = list(distances)
            for k in interfaces:
                dist[k] = d
            atoms0 = _build_stack_checked(config, system, spec, layers, comm, dist, ens_key)
            try:
                rs = stacking_registries(atoms0, shifted, grid=int(settings["registry_grid"]),
                                         high_symmetry=bool(settings["high_symmetry_registries"]))
            except StructureError as exc:
                raise ConfigError(f"config key '{_key(system, 'ensemble')}': {exc}") from None
            if not rs.registries:
                raise ConfigError(f"config key 'profiles.{config['profile']}.structures.registry_grid': no registry "
                                  f"sampled (set registry_grid > 0 or high_symmetry_registries: true)")
            regsets[d] = rs
            for reg in rs.registries:
                name = f"reg-{_fmt(reg.frac[0], 3)}-{_fmt(reg.frac[1], 3)}_d-{_fmt(d, digits)}"
                plans.append(VariantPlan(name, "ensemble", distances_angstrom=dist, registry=reg, distance_angstrom=d))
    return layers, comm, distances, plans, regsets


def _registry_shift(config, system, spec, layers, comm, distances) -> tuple[list[int], np.ndarray] | None:
    """(shifted layers, Cartesian shift) of the base variant's ``base_registry``."""
    ens = spec.get("ensemble")
    if not ens:
        return None
    base_reg = [float(x) for x in _opt(spec, "base_registry")]
    if base_reg == [0.0, 0.0]:
        return [int(i) for i in ens["shifted_layers"]], np.zeros(2)
    atoms0 = _build_stack_checked(config, system, spec, layers, comm, distances, ("distances_angstrom",))
    rs = stacking_registries(atoms0, ens["shifted_layers"], grid=0, high_symmetry=False)
    shift = np.array(base_reg) @ rs.shift_cell_angstrom
    return [int(i) for i in ens["shifted_layers"]], shift


def _build_stack_checked(config, system, spec, layers, comm, distances, dist_key, shifted=None, shift=None,
                         variant=None, metadata=False):
    vac = _vacuum(config, spec)
    shifts = {i: shift for i in shifted} if shifted is not None and shift is not None else None
    try:
        return build_stack(layers, distances, vacuum_angstrom=vac, commensurate=comm,
                           distance_reference=_opt(spec, "distance_reference"), shifts_angstrom=shifts,
                           min_distance_angstrom=float(_opt(spec, "min_distance_angstrom")),
                           min_interlayer_distance_angstrom=float(_opt(spec, "min_interlayer_distance_angstrom")),
                           return_metadata=metadata)
    except OverlapError as exc:
        where = f" in variant '{variant}'" if variant else ""
        raise ConfigError(f"config key '{_key(system, *dist_key)}': {exc}{where} (distances "
                          f"{[round(d, 4) for d in distances]} Å)") from None
    except StructureError as exc:
        raise ConfigError(f"config key '{_key(system)}': {exc}") from None


def _vacancy_n(config, system, spec) -> tuple[int, str]:
    if "supercell_n" in spec:
        return int(spec["supercell_n"]), f"config key '{_key(system, 'supercell_n')}'"
    return (int(_structure_settings(config)["vacancy_supercell"]),
            f"config key 'profiles.{config['profile']}.structures.vacancy_supercell'")


def _plan(config, system):
    spec = _system_spec(config, system)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"config key '{_key(system, 'kind')}': {kind!r} is not one of {list(KINDS)}")
    allowed = _KIND_KEYS[kind] | _COMMON_KEYS
    # (schema defaults filled in by a validator are tolerated)
    extra = sorted(k for k in set(spec) - allowed if not (k in SYSTEM_DEFAULTS and spec[k] == SYSTEM_DEFAULTS[k]))
    if extra:
        raise ConfigError(f"config key '{_key(system, extra[0])}' is not used by systems of kind '{kind}' "
                          f"(allowed: {', '.join(sorted(allowed))})")
    if kind == "monolayer":
        _check_material(config, system, ("material",), spec.get("material"))
        return kind, [VariantPlan(BASE, "base")], None
    if kind == "vacancy":
        host = spec.get("host")
        hspec = (config.get("systems") or {}).get(host)
        if hspec is None or hspec.get("kind") not in ("monolayer", "stack"):
            raise ConfigError(f"config key '{_key(system, 'host')}': {host!r} is not a monolayer or stack system")
        plans = [VariantPlan(BASE, "base")]
        if _opt(spec, "include_pristine"):
            plans.append(VariantPlan(PRISTINE, "pristine"))
        return kind, plans, None
    layers, comm, distances, plans, regsets = _plan_stack(config, system, spec)
    return kind, plans, {"layers": layers, "comm": comm, "distances": distances, "regsets": regsets}


_COMMON_KEYS = {"kind", "description", "enabled", "vacuum_angstrom", "dipole_correction", "min_distance_angstrom",
                "min_interlayer_distance_angstrom"}
_KIND_KEYS = {
    "monolayer": {"material", "a_angstrom", "supercell", "magmoms"},
    "stack": {"layers", "reference_layer", "max_strain_percent", "max_supercell_cells", "max_twist_deg",
              "distances_angstrom", "same_separation_as", "distance_reference", "base_registry", "ensemble"},
    "vacancy": {"host", "element", "position", "layer", "site_index", "supercell_n", "magmom_near_vacancy",
                "neighbour_element", "include_pristine"},
}


def list_variants(config: Mapping, system: str) -> list[str]:
    """Variant names of ``system``, from the configuration alone (cheap; used to build the DAG).

    ``base`` comes first; stacks with an ``ensemble`` add ``reg-<p1>-<p2>_d-<d>`` (registry in
    shift-cell fractions, distance in Å); vacancy systems may add ``pristine``.
    """
    _, plans, _ = _plan(config, system)
    return [p.name for p in plans]


def build_system(config: Mapping, system: str, variants: Sequence[str] | None = None) -> dict[str, tuple[Any, dict]]:
    """Build every variant of ``system`` (or only ``variants``).

    Returns
    -------
    dict
        Variant name → (ase.Atoms, parameters for the manifest).

    Raises
    ------
    ConfigError
        Any problem, naming the config key.
    """
    spec = _system_spec(config, system)
    kind, plans, ctx = _plan(config, system)
    settings = _structure_settings(config)
    max_atoms = int(settings["max_atoms"])
    out: dict[str, tuple[Any, dict]] = {}
    if kind == "monolayer":
        mat = _check_material(config, system, ("material",), spec["material"])
        sc = spec.get("supercell")
        try:
            atoms = build_monolayer(mat, spec.get("a_angstrom"), _vacuum(config, spec), supercell=sc,
                                    magmoms=spec.get("magmoms"),
                                    min_distance_angstrom=float(_opt(spec, "min_distance_angstrom")))
        except OverlapError as exc:
            raise ConfigError(f"config key '{_key(system, 'a_angstrom')}': {exc}") from None
        except StructureError as exc:
            raise ConfigError(f"config key '{_key(system)}': {exc}") from None
        m = np.eye(2, dtype=int) if sc is None else _as_int_matrix(sc)
        params = {"material": mat.name, "supercell_matrix": m.tolist(),
                  "a_angstrom": float(np.linalg.norm(mat.cell_2d(spec.get("a_angstrom"))[0])),
                  "layers": [{"index": 0, "material": mat.name, "supercell_matrix": m.tolist(),
                              "strain": _round_strain(layer_strain(np.eye(2), np.eye(2))),
                              "plane_element": mat.plane_element,
                              "plane_z_angstrom": round(float(atoms.info["plane_z_angstrom"]), 6)}]}
        out[BASE] = (atoms, params)
        size_key = _key(system, "supercell")
    elif kind == "stack":
        layers, comm, distances = ctx["layers"], ctx["comm"], ctx["distances"]
        dist_key = ("distances_angstrom",) if "distances_angstrom" in spec else ("same_separation_as",)
        base_shift = _registry_shift(config, system, spec, layers, comm, distances)
        base_reg = [float(x) for x in _opt(spec, "base_registry")]
        for plan in plans:
            if variants is not None and plan.name not in variants:
                continue
            if plan.role == "base":
                shifted, shift = base_shift if base_shift else (None, None)
                atoms, meta = _build_stack_checked(config, system, spec, layers, comm, distances, dist_key, shifted,
                                                   shift, variant=plan.name, metadata=True)
                params = {"distances_angstrom": distances}
                if base_shift:
                    params["registry"] = {"shifted_layers": shifted, "frac": base_reg,
                                          "shift_angstrom": [float(x) for x in shift]}
            else:
                reg = plan.registry
                shifted = [int(i) for i in spec["ensemble"]["shifted_layers"]]
                ens_key = ("ensemble", "distances_angstrom" if "distances_angstrom" in spec["ensemble"]
                           else "distance_range_angstrom")
                atoms, meta = _build_stack_checked(config, system, spec, layers, comm, plan.distances_angstrom,
                                                   ens_key, shifted,
                                                   np.array(reg.shift_angstrom), variant=plan.name, metadata=True)
                params = {"distances_angstrom": plan.distances_angstrom, "distance_angstrom": plan.distance_angstrom,
                          "registry": {"shifted_layers": shifted, "frac": list(reg.frac),
                                       "shift_angstrom": list(reg.shift_angstrom), "multiplicity": reg.multiplicity,
                                       "weight": reg.weight, "high_symmetry": reg.high_symmetry,
                                       "orbit": [list(o) for o in reg.orbit]}}
                in_orbit = any(np.allclose(_wrap01(np.array(o) - np.array(base_reg)), 0, atol=1e-6)
                               or np.allclose(_wrap01(np.array(o) - np.array(base_reg)), 1, atol=1e-6)
                               for o in reg.orbit)
                if in_orbit and np.allclose(plan.distances_angstrom, distances):
                    params["same_structure_as"] = BASE
            params["layers"] = meta["layers"]
            params["plane_distances_angstrom"] = meta["plane_distances_angstrom"]
            params["distance_reference"] = meta["distance_reference"]
            out[plan.name] = (atoms, params)
        size_key = _key(system, "layers")
    else:  # vacancy
        host = spec["host"]
        hbuilt = build_system(config, host, variants=[BASE])
        hatoms, hparams = hbuilt[BASE]
        n, n_key = _vacancy_n(config, system, spec)
        if n * n * len(hatoms) - 1 > max_atoms:
            raise ConfigError(f"{n_key}: a {n}×{n}×1 supercell of {host} has {n * n * len(hatoms) - 1} atoms after "
                              f"removing one, more than profiles.{config['profile']}.structures.max_atoms = "
                              f"{max_atoms}")
        try:
            atoms, removed = vacancy_supercell(
                hatoms, n, element=_opt(spec, "element"), index=spec.get("site_index"),
                position=_opt(spec, "position"), layer=spec.get("layer"),
                magmom_near_vacancy=float(_opt(spec, "magmom_near_vacancy")),
                neighbour_element=spec.get("neighbour_element"))
        except StructureError as exc:
            key = "site_index" if "site_index" in spec else "element"
            raise ConfigError(f"config key '{_key(system, key)}': {exc}") from None
        layers = copy.deepcopy(hparams["layers"])
        for lm in layers:
            lm["supercell_matrix"] = (np.array(lm["supercell_matrix"]) * n).tolist()
        params = {"host": host, "supercell_n": n, "host_supercell_matrix": [[n, 0], [0, n]], "vacancy": removed,
                  "layers": layers}
        out[BASE] = (atoms, params)
        if _opt(spec, "include_pristine"):
            from ase.build import make_supercell

            pristine = make_supercell(hatoms, np.diag([n, n, 1]))
            pristine.pbc = hatoms.pbc
            out[PRISTINE] = (pristine, {"host": host, "supercell_n": n, "host_supercell_matrix": [[n, 0], [0, n]],
                                        "layers": layers})
        size_key = n_key.split("'")[1]
    for name, (atoms, params) in out.items():
        if len(atoms) > max_atoms:
            raise ConfigError(f"config key '{size_key}': variant '{name}' has {len(atoms)} atoms, more than "
                              f"profiles.{config['profile']}.structures.max_atoms = {max_atoms}")
        atoms.info["system"] = system
        atoms.info["variant"] = name
        atoms.info["kind"] = kind
    return out


def validate_systems(config: Mapping) -> dict[str, list[str]]:
    """Check every enabled system by building all its variants once; return their names.

    Raises
    ------
    ConfigError
        Unknown material, strain beyond tolerance, overlapping atoms, too many atoms for the
        profile, ... with the config key in the message.
    """
    out = {}
    for system in list_systems(config):
        built = build_system(config, system)
        out[system] = list(built)
    return out


def system_config(config: Mapping, system: str) -> dict:
    """The part of ``config`` that ``system`` depends on (what a rule passes as ``params``)."""
    needed, todo = set(), [system]
    systems = config.get("systems") or {}
    while todo:
        s = todo.pop()
        if s in needed or s not in systems:
            continue
        needed.add(s)
        spec = systems[s]
        if spec.get("kind") == "vacancy":
            todo.append(spec.get("host"))
        if isinstance(spec.get("same_separation_as"), Mapping):
            todo.append(spec["same_separation_as"].get("system"))
    prof = config["profile"]
    pset = config["profiles"][prof]
    kinds = {systems[s].get("kind") for s in needed}
    structures = copy.deepcopy(pset.get("structures")) or {}
    if "vacancy" not in kinds:  # keys a system does not use must not trigger its rebuild
        structures.pop("vacancy_supercell", None)
    if "stack" not in kinds:
        for key in ("registry_grid", "high_symmetry_registries", "n_distances"):
            structures.pop(key, None)
    return {"profile": prof,
            "profiles": {prof: {"structures": structures,
                                "dft": {"vacuum_angstrom": pset["dft"]["vacuum_angstrom"]}}},
            "systems": {s: copy.deepcopy(systems[s]) for s in systems if s in needed}}


# ======================================================================================
# Output
# ======================================================================================
def _symmetry_info(atoms) -> dict:
    """Space group of the periodic slab model and layer group (spglib, 1e-3 Å)."""
    out = {}
    ds = _spglib("get_symmetry_dataset", _spglib_cell(atoms), symprec=1e-3)
    if ds is not None:
        out["space_group"] = f"{ds.international} ({ds.number})"
    lds = _spglib("get_symmetry_layerdataset", _spglib_cell(atoms), aperiodic_dir=2, symprec=1e-3)
    if lds is not None:
        out["layer_group"] = f"{lds.international} ({lds.number})"
    return out


def variant_record(atoms, params: Mapping, files: Mapping[str, str]) -> dict:
    """The manifest entry of one variant."""
    symbols = atoms.get_chemical_symbols()
    dmin, _, _ = minimum_distance(atoms)
    rec = {
        "files": dict(files),
        "formula": _formula(symbols),
        "composition": _composition(symbols),
        "n_atoms": len(atoms),
        "cell_angstrom": np.array(atoms.cell).round(8).tolist(),
        "in_plane_lattice_angstrom": [round(float(np.linalg.norm(atoms.cell[0])), 6),
                                      round(float(np.linalg.norm(atoms.cell[1])), 6)],
        "pbc": [bool(x) for x in atoms.pbc],
        "min_interatomic_distance_angstrom": round(dmin, 6),
    }
    if "layer" in atoms.arrays and len(set(atoms.arrays["layer"])) > 1:
        dl, _, _ = minimum_distance(atoms, interlayer_only=True)
        rec["min_interlayer_distance_angstrom"] = round(dl, 6)
    rec.update(_symmetry_info(atoms))
    rec.update(copy.deepcopy(dict(params)))
    if rec.get("layers"):
        rec["strain_biaxial_percent_by_layer"] = [lm["strain"]["biaxial_percent"] for lm in rec["layers"]]
    rec["layer_of_atom"] = [int(x) for x in atoms.arrays["layer"]]
    rec["initial_magmoms"] = [float(x) for x in atoms.get_initial_magnetic_moments()]
    return rec


def output_paths(results_dir: str, system: str, variants: Sequence[str]) -> dict[str, Any]:
    """Files the structures rule of ``system`` writes (relative to the working directory)."""
    d = f"{results_dir}/structures/{system}"
    return {"manifest": f"{d}/manifest.json", "extxyz": [f"{d}/{v}.extxyz" for v in variants],
            "cif": [f"{d}/{v}.cif" for v in variants], "overview": f"{d}/overview.png"}


def rule_name(system: str, taken: Iterable[str] = ()) -> str:
    """A Snakemake rule name for ``system`` (an identifier, unique among ``taken``)."""
    name = "structures_" + re.sub(r"\W", "_", system)
    while name in set(taken):
        name += "_"
    return name


def write_structure(atoms, extxyz_path: str | os.PathLike, cif_path: str | os.PathLike) -> None:
    """Write ``atoms`` as extended XYZ (with ``layer`` and ``initial_magmoms``) and as CIF (pymatgen)."""
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.io.cif import CifWriter

    from isingflow.provenance import atomic_path

    with atomic_path(extxyz_path) as tmp:
        write(tmp, atoms, format="extxyz")
    plain = atoms.copy()
    for k in list(plain.arrays):
        if k not in ("numbers", "positions"):
            del plain.arrays[k]
    plain.info = {}
    plain.pbc = True
    structure = AseAtomsAdaptor.get_structure(plain)
    with atomic_path(cif_path) as tmp:
        CifWriter(structure).write_file(tmp)


def write_system(config: Mapping, system: str, outdir: str | os.PathLike, overview_png: str | None = None) -> dict:
    """Build every variant of ``system`` and write ``<variant>.extxyz``, ``<variant>.cif`` and ``manifest.json``.

    Returns
    -------
    dict
        The manifest.
    """
    from isingflow.provenance import provenance, write_json

    outdir = Path(outdir)
    spec = _system_spec(config, system)
    built = build_system(config, system)
    variants = {}
    for name, (atoms, params) in built.items():
        files = {"extxyz": f"{name}.extxyz", "cif": f"{name}.cif"}
        write_structure(atoms, outdir / files["extxyz"], outdir / files["cif"])
        rec = variant_record(atoms, params, files)
        rec["role"] = {BASE: "base", PRISTINE: "pristine"}.get(name, "ensemble")
        variants[name] = rec
    manifest: dict[str, Any] = {
        "system": system,
        "kind": spec["kind"],
        "description": spec.get("description", ""),
        "profile": config["profile"],
        "variants_order": list(variants),
        "conventions": {
            "lengths": "Å", "magnetic_moments": "µB",
            "distances_angstrom": ("vertical distances between the reference planes (plane_element) of "
                                   "consecutive layers, e.g. d_Cr–Nb between the Nb and the Cr plane"
                                   if _opt(spec, "distance_reference") == "planes" else
                                   "vertical gaps between the outermost atomic planes of consecutive layers"),
            "registry_frac": "lateral shift of the shifted layers in fractions of shift_cell_angstrom",
            "layer_of_atom": "0 = bottom layer",
            "strain": "of each layer relative to its own unstrained supercell; the reference layer is unstrained",
        },
        "system_config": copy.deepcopy(dict(spec)),
        "structure_settings": _structure_settings(config),
        "vacuum_angstrom": _vacuum(config, spec),
        "materials": {},
        "variants": variants,
    }
    mats = load_materials()
    for rec in variants.values():
        for lm in rec.get("layers", []):
            manifest["materials"].setdefault(lm["material"], mats[lm["material"]].as_dict())
    if spec["kind"] == "stack" and spec.get("ensemble"):
        _, _, ctx = _plan(config, system)
        ens = {"shifted_layers": spec["ensemble"]["shifted_layers"], "distances": {}}
        for d, rs in ctx["regsets"].items():
            ens["shift_cell_angstrom"] = rs.shift_cell_angstrom.round(8).tolist()
            ens["grid"] = rs.grid
            ens["high_symmetry"] = rs.high_symmetry
            ens["distances"][f"{d:.6g}"] = {
                "n_sampled": rs.n_sampled, "n_symmetry_operations": rs.n_operations,
                "variants": [n for n, r in variants.items() if r.get("distance_angstrom") == d]}
        manifest["ensemble"] = ens
    if overview_png:
        vac = built[BASE][1].get("vacancy")
        plot_overview(built[BASE][0], overview_png, title=f"{system} ({_formula(built[BASE][0].get_chemical_symbols())})",
                      mark_angstrom=vac["position_angstrom"] if vac else None)
        manifest["overview_png"] = str(overview_png)
    manifest["provenance"] = provenance(inputs=[str(p) for p in registry_files()], settings=manifest["system_config"])
    write_json(outdir / "manifest.json", manifest)
    return manifest


def _radii(atoms) -> np.ndarray:
    from ase.data import covalent_radii

    return covalent_radii[atoms.numbers]


def plot_overview(atoms, path: str | os.PathLike, title: str = "", mark_angstrom: Sequence[float] | None = None) -> None:
    """Top and side view of ``atoms`` (PNG), atoms coloured by element; ``mark_angstrom`` (x, y, z) is circled."""
    import matplotlib

    matplotlib.use("Agg")
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
