"""The material library: monolayer prototypes read from ``structures/*.yaml``, and formula helpers.

Each entry of the library gives a lattice (``a_angstrom``, optional ``b_angstrom`` and
``gamma_deg``), the element of the layer's reference plane (``plane_element``), the sites
(element, in-plane fractions, height in Å, initial moment in µB) and the cited source.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import yaml

from isingflow.config import REPO_ROOT
from isingflow.structures.errors import StructureError

MATERIAL_LIBRARY_DIR = REPO_ROOT / "structures"
_REQUIRED = ("formula", "a_angstrom", "plane_element", "sites", "source")
_REQUIRED_FROM_FILE = ("structure_file", "source")
ROLES = ("superconductor", "magnet", "other")


@dataclass(frozen=True)
class Site:
    """One atom of a monolayer prototype (in-plane fractions, height in Å, moment in µB)."""

    element: str
    frac: tuple[float, float]
    z_angstrom: float
    magmom: float = 0.0


@dataclass(frozen=True)
class Material:
    """One monolayer prototype of the material library."""

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
    role: str = "other"             # superconductor | magnet | other
    structure_file: str = ""        # the file the sites were cut from, if any
    layer_spacing_angstrom: float | None = None   # bulk repeat distance of one layer (spin-filter thickness)

    @property
    def n_atoms(self) -> int:
        """Atoms per primitive cell."""
        return len(self.sites)

    @property
    def elements(self) -> set[str]:
        """The elements of the sites."""
        return {s.element for s in self.sites}

    def cell_2d(self, a_angstrom: float | None = None) -> np.ndarray:
        """In-plane primitive vectors (rows, Å); ``a_angstrom`` rescales the lattice isotropically."""
        scale = 1.0 if a_angstrom is None else a_angstrom / self.a_angstrom
        g = math.radians(self.gamma_deg)
        return scale * np.array([[self.a_angstrom, 0.0],
                                 [self.b_angstrom * math.cos(g), self.b_angstrom * math.sin(g)]])

    def as_dict(self) -> dict:
        """The manifest entry (``registry_file``: the material library file it comes from)."""
        out = {"name": self.name, "formula": self.formula, "a_angstrom": self.a_angstrom,
               "b_angstrom": self.b_angstrom, "gamma_deg": self.gamma_deg, "role": self.role,
               "plane_element": self.plane_element, "source": self.source, "registry_file": _rel(self.path)}
        if self.structure_file:
            out["structure_file"] = _rel(self.structure_file)
            out["initial_magmoms_muB"] = {s.element: s.magmom for s in self.sites}
        return out


def _rel(path: str | os.PathLike) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def material_library_files(directory: str | os.PathLike | None = None) -> list[Path]:
    """The material library files (``structures/*.yaml``), sorted."""
    return sorted(Path(directory or MATERIAL_LIBRARY_DIR).glob("*.yaml"))


def library_input_files(directory: str | os.PathLike | None = None) -> list[Path]:
    """What a structure built from the library depends on: its YAML files and the structure files
    its entries are cut from (inputs of the structures rules, so that editing either rebuilds)."""
    files = material_library_files(directory)
    cut = {Path(m.structure_file) for m in load_materials(files).values() if m.structure_file}
    return files + sorted(cut)


# --------------------------------------------------------------------------- formulas
def parse_formula(formula: str) -> dict[str, int]:
    """Element → count of a formula such as ``"Cr2Br6"``."""
    out: dict[str, int] = {}
    for el, n in re.findall(r"([A-Z][a-z]?)(\d*)", formula):
        out[el] = out.get(el, 0) + (int(n) if n else 1)
    return out


def same_stoichiometry(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """Whether compositions ``a`` and ``b`` are integer multiples of one formula unit."""
    if set(a) != set(b) or not a:
        return False
    ratio = {a[k] / b[k] for k in a}
    return len({round(r, 9) for r in ratio}) == 1


def composition(symbols: Iterable[str]) -> dict[str, int]:
    """Element → count, in order of first appearance."""
    out: dict[str, int] = {}
    for s in symbols:
        out[s] = out.get(s, 0) + 1
    return out


def formula(symbols: Iterable[str]) -> str:
    """Formula in order of first appearance, e.g. ``Nb8Se16Cr2Br6``."""
    return "".join(f"{el}{n if n > 1 else ''}" for el, n in composition(symbols).items())


# --------------------------------------------------------------------------- reading
def _site(where: str, i: int, s) -> Site:
    from ase.data import chemical_symbols

    try:
        el, frac, z = s["element"], s["frac"], s["z_angstrom"]
    except (KeyError, TypeError):
        raise StructureError(f"{where}: sites[{i}] needs element, frac and z_angstrom") from None
    if el not in chemical_symbols[1:]:
        raise StructureError(f"{where}: sites[{i}]: unknown element {el!r}")
    if len(frac) != 2:
        raise StructureError(f"{where}: sites[{i}].frac must have two in-plane coordinates")
    return Site(el, (float(frac[0]), float(frac[1])), float(z), float(s.get("magmom", 0.0)))


def _optional_float(x) -> float | None:
    return None if x is None else float(x)


def _material(path: Path, name, entry) -> Material:
    """One checked library entry (the messages name the file and the entry)."""
    where = f"{path.name}: material '{name}'"
    if not isinstance(entry, dict):
        raise StructureError(f"{where}: the entry must be a mapping")
    if entry.get("role", "other") not in ROLES:
        raise StructureError(f"{where}: role {entry['role']!r} is not one of {list(ROLES)}")
    if "structure_file" in entry:
        from isingflow.structures.from_file import sites_from_file

        missing = [k for k in _REQUIRED_FROM_FILE if k not in entry]
        if missing:
            raise StructureError(f"{where}: missing field(s) {missing}")
        derived = sites_from_file(where, entry, path.parent)
        if "formula" in entry and not same_stoichiometry(parse_formula(str(entry["formula"])),
                                                         parse_formula(derived["formula"])):
            raise StructureError(f"{where}: the layer cut from {entry['structure_file']} is {derived['formula']}, "
                                 f"not {entry['formula']!r}")
        entry = {**entry, **{k: v for k, v in derived.items() if k not in entry or k == "sites"}}
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise StructureError(f"{where}: missing field(s) {missing}")
    sites = tuple(_site(where, i, s) for i, s in enumerate(entry["sites"]))
    mat = Material(name=str(name), formula=str(entry["formula"]), a_angstrom=float(entry["a_angstrom"]),
                   b_angstrom=float(entry.get("b_angstrom", entry["a_angstrom"])),
                   gamma_deg=float(entry.get("gamma_deg", 120.0)),
                   plane_element=str(entry["plane_element"]), sites=sites,
                   source=str(entry["source"]).strip(), prototype=str(entry.get("prototype", "")),
                   notes=str(entry.get("notes", "")).strip(), path=str(path), role=str(entry.get("role", "other")),
                   structure_file=str(entry.get("structure_file_resolved", "")),
                   layer_spacing_angstrom=_optional_float(entry.get("layer_spacing_angstrom")))
    if mat.a_angstrom <= 0 or mat.b_angstrom <= 0 or not 10 < mat.gamma_deg < 170:
        raise StructureError(f"{where}: bad lattice (a, b > 0 and 10° < gamma < 170° needed)")
    if mat.plane_element not in mat.elements:
        raise StructureError(f"{where}: plane_element {mat.plane_element!r} is not one of its sites")
    symbols = [s.element for s in sites]
    if not same_stoichiometry(composition(symbols), parse_formula(mat.formula)):
        raise StructureError(f"{where}: sites {formula(symbols)} do not match formula {mat.formula!r}")
    return mat


_LIBRARY_CACHE: dict[tuple, dict[str, Material]] = {}


def load_materials(paths: Sequence[str | os.PathLike] | None = None) -> dict[str, Material]:
    """Read and check the material library.

    Parameters
    ----------
    paths
        Library YAML files; default: every ``structures/*.yaml`` of the repository.

    Returns
    -------
    dict
        Material name → :class:`Material`.

    Raises
    ------
    StructureError
        A malformed entry (the message names the file and the entry) or a name defined twice.
    """
    files = [Path(p) for p in (paths if paths is not None else material_library_files())]
    key = tuple((str(p), p.stat().st_mtime_ns) for p in files if p.exists())
    if key in _LIBRARY_CACHE:
        return dict(_LIBRARY_CACHE[key])
    materials: dict[str, Material] = {}
    for path in files:
        with open(path) as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, dict):
            raise StructureError(f"{path}: a material library file must be a mapping name -> entry")
        for name, entry in data.items():
            if name in materials:
                raise StructureError(f"{path.name}: material '{name}' is defined twice "
                                     f"(also in {materials[name].path})")
            materials[str(name)] = _material(path, name, entry)
    _LIBRARY_CACHE[key] = dict(materials)
    return materials


def get_material(material: str | Material, materials: Mapping[str, Material] | None = None) -> Material:
    """Look up ``material`` in the library (a :class:`Material` is passed through).

    Raises
    ------
    StructureError
        Unknown name (the message lists the known ones).
    """
    if isinstance(material, Material):
        return material
    materials = load_materials() if materials is None else materials
    if material not in materials:
        raise StructureError(f"unknown material {material!r} (known: {', '.join(sorted(materials))})")
    return materials[material]
