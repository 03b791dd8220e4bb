"""Monolayers and vertical stacks of layers on a common (commensurate) in-plane cell.

Interlayer distances are vertical distances between the layers' reference planes
(``plane_element``: Nb for NbSe2, Cr for CrBr3, so the NbSe2/CrBr3 distance is d_Cr–Nb), or with
``distance_reference="surfaces"`` the gaps between the outermost atomic planes.  Every atom
carries its layer index (``atoms.arrays["layer"]``, 0 = bottom) and its initial moment (µB).
The slab is non-periodic along z (``pbc = (True, True, False)``) with vacuum on both sides.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from isingflow.structures.distances import check_min_distance
from isingflow.structures.errors import StrainError, StructureError
from isingflow.structures.lattice import (
    CommensurateCell,
    as_int_matrix,
    commensurate_from_supercells,
    find_commensurate_supercell,
    round_strain,
)
from isingflow.structures.materials import Material, formula, get_material

_Z_BOX = 100.0  # placeholder c length of a layer before vacuum is added


def _rotated(xy: np.ndarray, a2: np.ndarray, rotation_deg: float, name: str) -> np.ndarray:
    """``xy`` rotated about z by a symmetry of the lattice ``a2`` (:class:`StructureError` if it is none)."""
    th = math.radians(rotation_deg)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    image = (a2 @ rot.T) @ np.linalg.inv(a2)  # rotated lattice vectors in lattice coordinates
    if not np.allclose(image, np.round(image), atol=1e-6):
        raise StructureError(f"rotation_deg = {rotation_deg:g} does not map the {name} lattice onto itself "
                             f"(hexagonal lattices: multiples of 60)")
    return xy @ rot.T


def layer_atoms(material: str | Material, a_angstrom: float | None = None, supercell=None,
                shift_frac: Sequence[float] = (0.0, 0.0), magmoms: Mapping[str, float] | None = None,
                materials: Mapping[str, Material] | None = None, rotation_deg: float = 0.0):
    """One layer (no vacuum yet): z measured from the layer's ``plane_element`` plane.

    Parameters
    ----------
    material
        Material library name or :class:`Material`.
    a_angstrom
        In-plane lattice constant; default: the library value.
    supercell
        2×2 integer matrix ``M`` (rows): the supercell vectors are ``M @ primitive_cell``.
    shift_frac
        Lateral shift of the layer, in fractions of its primitive vectors.
    magmoms
        Element → initial moment (µB), overriding the library.
    materials
        The material library (default: :func:`~isingflow.structures.materials.load_materials`).
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
    xy = (np.array([s.frac for s in mat.sites]) + np.asarray(shift_frac, float)) @ a2
    if rotation_deg:
        xy = _rotated(xy, a2, rotation_deg, mat.name)
    pos = np.column_stack([xy, [s.z_angstrom for s in mat.sites]])
    prim = Atoms([s.element for s in mat.sites], positions=pos, cell=cell, pbc=(True, True, False))
    prim.set_initial_magnetic_moments([(magmoms or {}).get(s.element, s.magmom) for s in mat.sites])
    prim.wrap()
    if supercell is None:
        return prim
    p3 = np.eye(3, dtype=int)
    p3[:2, :2] = as_int_matrix(supercell)
    sc = make_supercell(prim, p3)
    sc.pbc = (True, True, False)
    return sc


def _finish_slab(atoms, vacuum_angstrom: float) -> float:
    """Put ``vacuum_angstrom`` of empty space below and above the slab (in place); return the z shift."""
    z = atoms.positions[:, 2]
    zmin, zmax = float(z.min()), float(z.max())
    atoms.positions[:, 2] += vacuum_angstrom - zmin
    cell = np.array(atoms.cell)
    cell[2] = [0.0, 0.0, zmax - zmin + 2.0 * vacuum_angstrom]
    atoms.set_cell(cell, scale_atoms=False)
    atoms.pbc = (True, True, False)
    atoms.wrap()
    return vacuum_angstrom - zmin


def build_monolayer(material: str | Material, a_angstrom: float | None = None, vacuum_angstrom: float = 10.0,
                    supercell=None, magmoms: Mapping[str, float] | None = None,
                    min_distance_angstrom: float | None = 1.5,
                    materials: Mapping[str, Material] | None = None):
    """A monolayer slab with ``vacuum_angstrom`` of vacuum on each side.

    Parameters
    ----------
    material
        Material library name (e.g. ``"NbSe2"``) or :class:`Material`.
    a_angstrom
        In-plane lattice constant (default: library value).
    vacuum_angstrom
        Vacuum on each side of the slab (Å).
    supercell
        Optional 2×2 in-plane supercell matrix.
    magmoms
        Element → initial magnetic moment (µB) overriding the library.
    min_distance_angstrom
        Raise :class:`OverlapError` if two atoms are closer (``None``: no check).
    materials
        The material library (default: all of ``structures/*.yaml``).

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


@dataclass
class LayerSpec:
    """One layer of a stack.

    Attributes
    ----------
    material
        Material library name or :class:`Material`.
    supercell
        2×2 integer supercell matrix (``None``: found by :func:`find_commensurate_supercell`).
    a_angstrom
        In-plane lattice constant before straining (default: library).
    shift_frac
        Lateral shift in fractions of the layer's own primitive vectors.
    magmoms
        Element → initial moment (µB) overriding the library.
    plane_element
        Element of the reference plane (default: the library's ``plane_element``).
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


def layer_spec(spec) -> LayerSpec:
    """A :class:`LayerSpec` from a :class:`LayerSpec`, a material (name) or a mapping of its fields."""
    if isinstance(spec, LayerSpec):
        return spec
    if isinstance(spec, (str, Material)):
        return LayerSpec(spec)
    if isinstance(spec, Mapping):
        allowed = {"material", "supercell", "a_angstrom", "shift_frac", "magmoms", "plane_element", "rotation_deg"}
        return LayerSpec(**{k: v for k, v in spec.items() if k in allowed})
    raise StructureError(f"cannot interpret layer {spec!r}")


def _check_strains(cand: CommensurateCell, mats: Sequence[Material], max_strain_percent: float,
                   max_twist_deg: float) -> None:
    for i, st in enumerate(cand.strains):
        if st["max_abs_percent"] > max_strain_percent + 1e-9:
            raise StrainError(f"layer {i} ({mats[i].name}) would be strained by {st['max_abs_percent']:.2f} %, "
                              f"more than max_strain_percent = {max_strain_percent:g} %", layer=i)
        if abs(st["twist_deg"]) > max_twist_deg:
            raise StrainError(f"layer {i} ({mats[i].name}) would be rotated by {st['twist_deg']:.2f}°, "
                              f"more than max_twist_deg = {max_twist_deg:g}°", layer=i)


def resolve_commensurate(layers: Sequence[LayerSpec | Mapping | str], reference_layer: int = 0,
                         max_strain_percent: float = 5.0, max_cells: int = 16, max_twist_deg: float = 0.1,
                         materials: Mapping[str, Material] | None = None) -> CommensurateCell:
    """The common cell of ``layers``: from their ``supercell`` matrices if all are given, else searched.

    Parameters
    ----------
    layers
        Bottom to top (see :func:`layer_spec`).
    reference_layer, max_strain_percent, max_cells, max_twist_deg
        See :func:`~isingflow.structures.lattice.find_commensurate_supercell`.
    materials
        The material library (default: all of ``structures/*.yaml``).

    Returns
    -------
    CommensurateCell

    Raises
    ------
    StrainError
        A layer needs more strain (or twist) than allowed, or no supercell fits.
    """
    specs = [layer_spec(s) for s in layers]
    if not 0 <= reference_layer < len(specs):
        raise StructureError(f"reference_layer {reference_layer} is not a layer index (0..{len(specs) - 1})")
    mats = [get_material(s.material, materials) for s in specs]
    cells = [m.cell_2d(s.a_angstrom) for m, s in zip(mats, specs)]
    napc = [m.n_atoms for m in mats]
    given = [s.supercell is not None for s in specs]
    if all(given):
        cand = commensurate_from_supercells(cells, [s.supercell for s in specs], reference_layer, napc)
        _check_strains(cand, mats, max_strain_percent, max_twist_deg)
        return cand
    if any(given):
        raise StructureError("give a supercell for every layer or for none (then it is searched)")
    found = find_commensurate_supercell(cells, reference_layer, max_strain_percent, max_cells, max_twist_deg, napc,
                                        n_candidates=1)
    if not found:
        lattices = ", ".join(f"{m.name} {np.linalg.norm(c[0]):.3f} Å" for m, c in zip(mats, cells))
        raise StrainError(f"no commensurate supercell of at most {max_cells} reference cells keeps every "
                          f"layer within max_strain_percent = {max_strain_percent:g} % (lattice constants: {lattices})")
    return found[0]


def _check_stack_input(specs: Sequence[LayerSpec], distances_angstrom: Sequence[float], distance_reference: str):
    if len(specs) < 2:
        raise StructureError("a stack needs at least two layers")
    if len(distances_angstrom) != len(specs) - 1:
        raise StructureError(f"{len(specs)} layers need {len(specs) - 1} interlayer distances, "
                             f"got {len(distances_angstrom)}")
    if distance_reference not in ("planes", "surfaces"):
        raise StructureError(f"distance_reference must be 'planes' or 'surfaces', not {distance_reference!r}")


def _layer_on_cell(i: int, spec: LayerSpec, mat: Material, m: np.ndarray, comm: CommensurateCell):
    """Layer ``i`` strained onto the common cell: (symbols, xy, z from its plane, moments, metadata)."""
    lay = layer_atoms(mat, spec.a_angstrom, m, spec.shift_frac, spec.magmoms, rotation_deg=spec.rotation_deg)
    symbols = lay.get_chemical_symbols()
    plane_el = spec.plane_element or mat.plane_element
    if plane_el not in symbols:
        raise StructureError(f"layer {i}: plane_element {plane_el!r} is not in {mat.name}")
    frac = lay.positions[:, :2] @ np.linalg.inv(np.array(lay.cell)[:2, :2])
    z = lay.positions[:, 2] - float(np.mean(lay.positions[np.array(symbols) == plane_el, 2]))
    meta = {"index": i, "material": mat.name, "formula": formula(symbols), "n_atoms": len(lay),
            "supercell_matrix": m.tolist(),
            "a_angstrom_unstrained": float(np.linalg.norm(mat.cell_2d(spec.a_angstrom)[0])),
            "strain": round_strain(comm.strains[i]), "plane_element": plane_el,
            "shift_frac_own_cell": [float(x) for x in spec.shift_frac], "rotation_deg": float(spec.rotation_deg)}
    return symbols, frac @ comm.cell_angstrom, z, lay.get_initial_magnetic_moments(), meta


def _stacked(specs, mats, comm, distances_angstrom, distance_reference, shifts_angstrom):
    """The layers placed one above the other: (atoms without vacuum, plane heights, layer metadata)."""
    from ase import Atoms

    atoms, planes_z, layer_meta = None, [], []
    plane_prev = hi_prev = 0.0
    for i, (spec, mat, m) in enumerate(zip(specs, mats, comm.supercells)):
        symbols, xy, z, moms, meta = _layer_on_cell(i, spec, mat, m, comm)
        if i == 0:
            plane = 0.0
        elif distance_reference == "planes":
            plane = plane_prev + float(distances_angstrom[i - 1])
        else:
            plane = hi_prev + float(distances_angstrom[i - 1]) - float(z.min())
        if shifts_angstrom and i in shifts_angstrom:
            xy = xy + np.asarray(shifts_angstrom[i], float)[:2]
        part = Atoms(symbols, positions=np.column_stack([xy, z + plane]))
        part.set_initial_magnetic_moments(moms)
        part.new_array("layer", np.full(len(part), i, dtype=int))
        atoms = part if atoms is None else atoms + part
        planes_z.append(plane)
        layer_meta.append(meta)
        plane_prev, hi_prev = plane, plane + float(z.max())
    return atoms, planes_z, layer_meta


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
    distance_reference
        ``"planes"`` or ``"surfaces"`` (see ``distances_angstrom``).
    shifts_angstrom
        Layer index → extra lateral (x, y) shift (Å), e.g. a stacking shift.
    min_distance_angstrom, min_interlayer_distance_angstrom
        Raise :class:`OverlapError` below these (``None``: no check).
    commensurate
        A precomputed :class:`CommensurateCell` (skips the search).
    materials
        The material library (default: all of ``structures/*.yaml``).
    return_metadata
        Also return a dict with per-layer supercells, strains, plane heights and distances.

    Returns
    -------
    ase.Atoms or (ase.Atoms, dict)
    """
    specs = [layer_spec(s) for s in layers]
    _check_stack_input(specs, distances_angstrom, distance_reference)
    mats = [get_material(s.material, materials) for s in specs]
    comm = commensurate or resolve_commensurate(specs, reference_layer, max_strain_percent, max_cells,
                                                max_twist_deg, materials)
    atoms, planes_z, layer_meta = _stacked(specs, mats, comm, distances_angstrom, distance_reference,
                                           shifts_angstrom)
    cell = np.zeros((3, 3))
    cell[:2, :2] = comm.cell_angstrom
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
    return atoms, {"layers": layer_meta, "cell_2d_angstrom": comm.cell_angstrom.tolist(),
                   "plane_distances_angstrom": [round(d, 6) for d in plane_dist],
                   "distance_reference": distance_reference,
                   "distances_angstrom": [float(d) for d in distances_angstrom]}
