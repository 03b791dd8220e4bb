"""Stack systems: layers on a commensurate cell, base distances, and the shift × distance ensemble.

The ensemble of a stack (``systems.<name>.ensemble``) moves ``shifted_layers`` laterally against
the others over the symmetry-distinct stacking shifts (:mod:`isingflow.structures.stacking`) at
one or more interlayer distances; each pair is a variant ``reg-<p1>-<p2>_d-<d>`` ("reg": the
lateral shift in shift-cell fractions, d in Å).  The shifts are the symmetry-distinct points of
the uniform ``shift_grid`` × ``shift_grid`` grid over the shift cell (with their weights in the
average over that grid and over every coarser grid that divides it, e.g. 3 × 3 inside 6 × 6).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from isingflow.config import ConfigError
from isingflow.structures.build import LayerSpec, build_stack, layer_atoms, resolve_commensurate
from isingflow.structures.errors import OverlapError, StrainError, StructureError
from isingflow.structures.lattice import as_int_matrix
from isingflow.structures.plan import (
    BASE,
    SystemPlan,
    VariantPlan,
    check_material,
    key,
    structure_settings,
    system_spec,
    vacuum_angstrom,
)
from isingflow.structures.stacking import interface_lateral_distances, same_shift, stacking_shifts


def _fmt(x: float, digits: int) -> str:
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _stack_layer(system: str, i: int, lay: Mapping) -> LayerSpec:
    """``layers[i]`` of a stack as a checked :class:`LayerSpec`."""
    mat = check_material(system, ("layers", i, "material"), lay.get("material"))
    sc = lay.get("supercell")
    if sc is not None:
        try:
            sc = as_int_matrix(sc, "supercell")
        except StructureError as exc:
            raise ConfigError(f"config key '{key(system, 'layers', i, 'supercell')}': {exc}") from None
    pe = lay.get("plane_element")
    if pe is not None and pe not in mat.elements:
        raise ConfigError(f"config key '{key(system, 'layers', i, 'plane_element')}': {pe!r} is not an "
                          f"element of {mat.name}")
    for el in (lay.get("magmoms") or {}):
        if el not in mat.elements:
            raise ConfigError(f"config key '{key(system, 'layers', i, 'magmoms', el)}': {el!r} is not an "
                              f"element of {mat.name}")
    rot = float(lay.get("rotation_deg", 0.0))
    try:
        layer_atoms(mat, lay.get("a_angstrom"), rotation_deg=rot)
    except StructureError as exc:
        raise ConfigError(f"config key '{key(system, 'layers', i, 'rotation_deg')}': {exc}") from None
    return LayerSpec(material=mat, supercell=sc, a_angstrom=lay.get("a_angstrom"),
                     shift_frac=tuple(lay.get("shift_frac", (0.0, 0.0))), magmoms=lay.get("magmoms"),
                     plane_element=pe, rotation_deg=rot)


def _stack_layers(system: str, spec: Mapping) -> list[LayerSpec]:
    layers = spec.get("layers")
    if not isinstance(layers, list) or len(layers) < 2:
        raise ConfigError(f"config key '{key(system, 'layers')}': a stack needs a list of at least two layers")
    return [_stack_layer(system, i, lay) for i, lay in enumerate(layers)]


def _copied_distance(config: Mapping, system: str, spec: Mapping, seen: tuple) -> list[float]:
    """The distance ``same_separation_as`` takes from another stack."""
    ref = spec["same_separation_as"]
    other = ref.get("system")
    where = key(system, "same_separation_as", "system")
    if other == system or other in seen:
        raise ConfigError(f"config key '{where}': circular reference to {other!r}")
    raw = (config.get("systems") or {}).get(other)
    if raw is None or raw.get("kind") != "stack":
        raise ConfigError(f"config key '{where}': {other!r} is not a stack system")
    ospec = system_spec(config, other)
    lo, hi = ref.get("layers", [0, len(ospec["layers"]) - 1])
    if not 0 <= lo < hi < len(ospec["layers"]):
        raise ConfigError(f"config key '{key(system, 'same_separation_as', 'layers')}': [{lo}, {hi}] are not two "
                          f"layers of {other!r}")
    if ospec["distance_reference"] != "planes" or spec["distance_reference"] != "planes":
        raise ConfigError(f"config key '{where}': same_separation_as needs distance_reference 'planes' in both systems")
    total = float(sum(stack_distances(config, other, ospec, seen + (system,))[lo:hi]))
    if len(spec.get("layers") or []) != 2:
        raise ConfigError(f"config key '{where}': same_separation_as is for two-layer stacks")
    return [total]


def stack_distances(config: Mapping, system: str, spec: Mapping, seen: tuple = ()) -> list[float]:
    """The base interlayer distances of a stack (Å; possibly copied from another system)."""
    n = len(spec.get("layers") or [])
    has_d, has_from = "distances_angstrom" in spec, "same_separation_as" in spec
    if has_d == has_from:
        raise ConfigError(f"config key '{key(system, 'distances_angstrom')}': give exactly one of "
                          f"'distances_angstrom' and 'same_separation_as'")
    if has_from:
        return _copied_distance(config, system, spec, seen)
    d = [float(x) for x in spec["distances_angstrom"]]
    if len(d) != n - 1:
        raise ConfigError(f"config key '{key(system, 'distances_angstrom')}': {n} layers need {n - 1} "
                          f"distances, got {len(d)}")
    return d


def _commensurate(system: str, spec: Mapping, layers: list[LayerSpec]):
    ref = int(spec["reference_layer"])
    if not 0 <= ref < len(layers):
        raise ConfigError(f"config key '{key(system, 'reference_layer')}': {ref} is not a layer index "
                          f"(0..{len(layers) - 1})")
    try:
        return resolve_commensurate(layers, ref, float(spec["max_strain_percent"]),
                                    int(spec["max_supercell_cells"]), float(spec["max_twist_deg"]))
    except StrainError as exc:
        if exc.layer is not None and layers[exc.layer].supercell is not None:
            where = key(system, "layers", exc.layer, "supercell")
        else:
            where = key(system, "max_strain_percent")
        raise ConfigError(f"config key '{where}': {exc}") from None
    except StructureError as exc:
        raise ConfigError(f"config key '{key(system, 'layers')}': {exc}") from None


def _ensemble_key(ens: Mapping) -> tuple[str, str]:
    return ("ensemble", "distances_angstrom" if "distances_angstrom" in ens else "distance_range_angstrom")


def _sampled_distances(config: Mapping, system: str, ens: Mapping, distances: list[float],
                       interfaces: list[int]) -> list[float]:
    """The ensemble's interlayer distances (Å): explicit, a range, or the base distance."""
    if "distances_angstrom" in ens:
        return sorted({round(float(x), 9) for x in ens["distances_angstrom"]})
    if "distance_range_angstrom" in ens:
        lo, hi = (float(x) for x in ens["distance_range_angstrom"])
        if not 0 < lo <= hi:
            raise ConfigError(f"config key '{key(system, 'ensemble', 'distance_range_angstrom')}': need "
                              f"0 < min <= max, got [{lo}, {hi}]")
        nd = int(structure_settings(config)["n_distances"])
        return [hi] if nd == 1 else sorted({round(x, 9) for x in np.linspace(lo, hi, nd).tolist()})
    return [distances[interfaces[0]]] if interfaces else []


def _ensemble_layers(system: str, ens: Mapping, n_layers: int) -> tuple[list[int], list[int]]:
    """The shifted layers and the interfaces whose distance is sampled."""
    shifted = [int(i) for i in ens.get("shifted_layers", [])]
    bad = [i for i in shifted if not 0 <= i < n_layers]
    if not shifted or bad or len(shifted) == n_layers:
        raise ConfigError(f"config key '{key(system, 'ensemble', 'shifted_layers')}': {shifted} must name some "
                          f"but not all of the layers 0..{n_layers - 1}")
    interfaces = ens.get("interfaces")
    if interfaces is None:
        interfaces = sorted({k for i in shifted for k in (i - 1, i) if 0 <= k < n_layers - 1})
    if any(not 0 <= k < n_layers - 1 for k in interfaces):
        raise ConfigError(f"config key '{key(system, 'ensemble', 'interfaces')}': interface indices run over "
                          f"0..{n_layers - 2}")
    return shifted, interfaces


def _plan_ensemble(config: Mapping, plan: SystemPlan) -> None:
    """Add the shift × distance variants and their shift sets to ``plan`` (in place)."""
    system, ens = plan.system, plan.spec["ensemble"]
    shifted, interfaces = _ensemble_layers(system, ens, len(plan.layers))
    dvals = _sampled_distances(config, system, ens, plan.distances_angstrom, interfaces)
    settings = structure_settings(config)
    digits = 2
    while len({_fmt(d, digits) for d in dvals}) < len(dvals) and digits < 6:
        digits += 1
    for d in dvals:
        dist = list(plan.distances_angstrom)
        for k in interfaces:
            dist[k] = d
        atoms0 = checked_stack(config, plan, dist, _ensemble_key(ens))
        try:
            rs = stacking_shifts(atoms0, shifted, grid=int(settings["shift_grid"]),
                                 high_symmetry=bool(settings["high_symmetry_shifts"]))
        except StructureError as exc:
            raise ConfigError(f"config key '{key(system, 'ensemble')}': {exc}") from None
        if not rs.shifts:
            raise ConfigError(f"config key 'profiles.{config['profile']}.structures.shift_grid': no stacking shift "
                              f"sampled (set shift_grid > 0 or high_symmetry_shifts: true)")
        plan.shift_sets[d] = rs
        for member in rs.shifts:
            name = f"reg-{_fmt(member.frac[0], 3)}-{_fmt(member.frac[1], 3)}_d-{_fmt(d, digits)}"
            plan.variants.append(VariantPlan(name, "ensemble", distances_angstrom=dist, shift=member,
                                             distance_angstrom=d))


def plan_stack(config: Mapping, system: str, spec: dict) -> SystemPlan:
    """Layers, commensurate cell, base distances and the variant plans of a stack system."""
    layers = _stack_layers(system, spec)
    comm = _commensurate(system, spec, layers)
    distances = stack_distances(config, system, spec)
    plan = SystemPlan(system, "stack", spec, [VariantPlan(BASE, "base", distances_angstrom=distances)],
                      layers=layers, commensurate=comm, distances_angstrom=distances)
    if spec.get("ensemble"):
        _plan_ensemble(config, plan)
    return plan


def checked_stack(config: Mapping, plan: SystemPlan, distances: list[float], dist_key: tuple, shifted=None,
                  shift=None, variant: str | None = None, metadata: bool = False):
    """:func:`~isingflow.structures.build.build_stack` of the plan's layers, problems as :class:`ConfigError`."""
    spec = plan.spec
    shifts = {i: shift for i in shifted} if shifted is not None and shift is not None else None
    try:
        return build_stack(plan.layers, distances, vacuum_angstrom=vacuum_angstrom(config, spec),
                           commensurate=plan.commensurate, distance_reference=spec["distance_reference"],
                           shifts_angstrom=shifts, min_distance_angstrom=float(spec["min_distance_angstrom"]),
                           min_interlayer_distance_angstrom=float(spec["min_interlayer_distance_angstrom"]),
                           return_metadata=metadata)
    except OverlapError as exc:
        where = f" in variant '{variant}'" if variant else ""
        raise ConfigError(f"config key '{key(plan.system, *dist_key)}': {exc}{where} (distances "
                          f"{[round(d, 4) for d in distances]} Å)") from None
    except StructureError as exc:
        raise ConfigError(f"config key '{key(plan.system)}': {exc}") from None


def _base_shift(config: Mapping, plan: SystemPlan) -> tuple[list[int], np.ndarray] | None:
    """(shifted layers, Cartesian shift in Å) of the base variant's ``base_shift`` (None without ensemble)."""
    ens = plan.spec.get("ensemble")
    if not ens:
        return None
    shifted = [int(i) for i in ens["shifted_layers"]]
    frac = [float(x) for x in plan.spec["base_shift"]]
    if frac == [0.0, 0.0]:
        return shifted, np.zeros(2)
    atoms0 = checked_stack(config, plan, plan.distances_angstrom, ("distances_angstrom",))
    rs = stacking_shifts(atoms0, ens["shifted_layers"], grid=0, high_symmetry=False)
    return shifted, np.array(frac) @ rs.shift_cell_angstrom


def _shift_record(shifted: list[int], member, atoms) -> dict:
    """The manifest's ``registry`` entry (the lateral stacking shift) of an ensemble variant.

    ``grid_weights``: n → weight of this shift in the average over the n × n grid (JSON keys);
    ``interface_lateral_distances_angstrom``: per interface of the shifted layers, the smallest
    lateral distance between the facing atomic planes, and its minimum over the interfaces.
    """
    lateral = interface_lateral_distances(atoms, shifted)
    return {"shifted_layers": shifted, "frac": list(member.frac), "shift_angstrom": list(member.shift_angstrom),
            "multiplicity": member.multiplicity, "weight": member.weight, "high_symmetry": member.high_symmetry,
            "grid_weights": {str(n): w for n, w in member.grid_weights.items()},
            "interface_lateral_distances_angstrom": lateral,
            "min_lateral_distance_angstrom": min(lateral.values()) if lateral else None,
            "orbit": [list(o) for o in member.orbit]}


def _ensemble_variant(config: Mapping, plan: SystemPlan, variant: VariantPlan):
    ens = plan.spec["ensemble"]
    shifted = [int(i) for i in ens["shifted_layers"]]
    member = variant.shift
    atoms, meta = checked_stack(config, plan, variant.distances_angstrom, _ensemble_key(ens), shifted,
                                np.array(member.shift_angstrom), variant=variant.name, metadata=True)
    params = {"distances_angstrom": variant.distances_angstrom, "distance_angstrom": variant.distance_angstrom,
              "registry": _shift_record(shifted, member, atoms)}
    base_frac = [float(x) for x in plan.spec["base_shift"]]
    if same_shift(member.orbit, base_frac) and np.allclose(variant.distances_angstrom, plan.distances_angstrom):
        params["same_structure_as"] = BASE
    return atoms, meta, params


def build_stack_variants(config: Mapping, plan: SystemPlan, names=None) -> dict[str, tuple]:
    """Build the variants of a stack plan (or only ``names``): variant → (ase.Atoms, manifest parameters)."""
    spec = plan.spec
    dist_key = ("distances_angstrom",) if "distances_angstrom" in spec else ("same_separation_as",)
    base_shift = _base_shift(config, plan)
    out = {}
    for variant in plan.variants:
        if names is not None and variant.name not in names:
            continue
        if variant.role != "base":
            atoms, meta, params = _ensemble_variant(config, plan, variant)
        else:
            shifted, shift = base_shift if base_shift else (None, None)
            atoms, meta = checked_stack(config, plan, plan.distances_angstrom, dist_key, shifted, shift,
                                        variant=variant.name, metadata=True)
            params = {"distances_angstrom": plan.distances_angstrom}
            if base_shift:
                params["registry"] = {"shifted_layers": shifted, "frac": [float(x) for x in spec["base_shift"]],
                                      "shift_angstrom": [float(x) for x in shift]}
        params["layers"] = meta["layers"]
        params["plane_distances_angstrom"] = meta["plane_distances_angstrom"]
        params["distance_reference"] = meta["distance_reference"]
        out[variant.name] = (atoms, params)
    return out
