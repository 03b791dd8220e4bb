"""A system of the configuration as a typed plan: its spec (schema defaults filled in) and its variants.

The ``systems:`` schema (``workflow/schemas/systems.schema.yaml``) owns every default and, per
kind (``$defs/<kind>``), the keys a system may have; :func:`system_spec` fills the defaults in
from there and rejects a key that does not belong to the kind, so that library use on a plain
dict behaves as the validated workflow configuration does.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from isingflow.config import SCHEMA_DIR, ConfigError, fill_schema_defaults, profile_settings
from isingflow.structures.build import LayerSpec
from isingflow.structures.errors import StructureError
from isingflow.structures.lattice import CommensurateCell
from isingflow.structures.materials import MATERIAL_LIBRARY_DIR, Material, load_materials
from isingflow.structures.stacking import ShiftSet, StackingShift

SYSTEMS_SCHEMA = SCHEMA_DIR / "systems.schema.yaml"
BASE = "base"
PRISTINE = "pristine"


@dataclass
class VariantPlan:
    """What one variant is: its name and the parameters that distinguish it.

    Attributes
    ----------
    name
        ``base``, ``pristine`` or ``reg-<p1>-<p2>_d-<d>`` (stacking shift, distance).
    role
        ``base``, ``ensemble`` or ``pristine``.
    distances_angstrom
        The interlayer distances of a stack variant (Å).
    shift
        The stacking shift of an ensemble variant.
    distance_angstrom
        The sampled distance of an ensemble variant (Å).
    """

    name: str
    role: str
    distances_angstrom: list[float] | None = None
    shift: StackingShift | None = None
    distance_angstrom: float | None = None


@dataclass
class SystemPlan:
    """Everything :func:`~isingflow.structures.systems.build_system` needs to build a system's variants.

    Attributes
    ----------
    system, kind
        The system's name and kind.
    spec
        Its ``systems.<name>`` entry with the schema defaults filled in.
    variants
        The variants, ``base`` first.
    layers, commensurate, distances_angstrom, shift_sets
        Stacks: the layers, their common cell, the base distances (Å) and, per sampled
        distance, the symmetry-distinct stacking shifts.
    """

    system: str
    kind: str
    spec: dict
    variants: list[VariantPlan]
    layers: list[LayerSpec] = field(default_factory=list)
    commensurate: CommensurateCell | None = None
    distances_angstrom: list[float] = field(default_factory=list)
    shift_sets: dict[float, ShiftSet] = field(default_factory=dict)


def key(system: str, *parts: str | int) -> str:
    """The config key ``systems.<system>.a[0].b`` of ``parts``."""
    out = f"systems.{system}"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


_CACHE: dict[tuple, Any] = {}


def _cached(what: str, compute, *args):
    """``compute(*args)``, remembered per schema file (path and modification time) and ``args``."""
    stamp = (what, str(SYSTEMS_SCHEMA), SYSTEMS_SCHEMA.stat().st_mtime_ns, *args)
    if stamp not in _CACHE:
        _CACHE[stamp] = compute(*args)
    return copy.deepcopy(_CACHE[stamp])


def _schema() -> dict:
    def load():
        with open(SYSTEMS_SCHEMA) as fh:
            return yaml.safe_load(fh)

    return _cached("schema", load)


def kind_keys(kind: str) -> set[str]:
    """The keys a system of ``kind`` may have (``$defs/common`` and ``$defs/<kind>`` of the schema)."""
    defs = _schema()["$defs"]
    return set(defs["common"]["properties"]) | set(defs[kind]["properties"])


def _fill(spec_json: str, pointer: str) -> dict:
    return fill_schema_defaults(json.loads(spec_json), f"{SYSTEMS_SCHEMA}#/$defs/{pointer}")


def with_defaults(spec: Mapping) -> dict:
    """A copy of a system spec with the defaults of its kind's schema filled in."""
    return _cached("spec", _fill, json.dumps(spec), spec["kind"])


def is_enabled(spec: Mapping) -> bool:
    """A system's ``enabled`` (its default from the schema's ``$defs/common``)."""
    return bool(_cached("spec", _fill, json.dumps(spec), "common")["enabled"])


def system_spec(config: Mapping, system: str) -> dict:
    """``systems.<system>`` with its defaults, checked for its kind and for keys its kind does not take.

    Raises
    ------
    ConfigError
        No such system, an unknown kind, or a key the kind does not use (the message names it).
    """
    systems = config.get("systems") or {}
    if system not in systems:
        raise ConfigError(f"config key 'systems.{system}': no such system (defined: {', '.join(systems)})")
    spec = systems[system]
    kinds = _schema()["$defs"]["common"]["properties"]["kind"]["enum"]
    if spec.get("kind") not in kinds:
        raise ConfigError(f"config key '{key(system, 'kind')}': {spec.get('kind')!r} is not one of {kinds}")
    allowed = kind_keys(spec["kind"])
    extra = sorted(set(spec) - allowed)
    if extra:
        raise ConfigError(f"config key '{key(system, extra[0])}' is not used by systems of kind '{spec['kind']}' "
                          f"(allowed: {', '.join(sorted(allowed))})")
    return with_defaults(spec)


def structure_settings(config: Mapping) -> dict:
    """``profiles.<profile>.structures``."""
    return profile_settings(config, "structures")


def vacuum_angstrom(config: Mapping, spec: Mapping) -> float:
    """The system's ``vacuum_angstrom``, else ``profiles.<profile>.dft.vacuum_angstrom``."""
    if "vacuum_angstrom" in spec:
        return float(spec["vacuum_angstrom"])
    return float(profile_settings(config, "dft")["vacuum_angstrom"])


def materials() -> dict[str, Material]:
    """The material library (a problem in it is a :class:`ConfigError`)."""
    try:
        return load_materials()
    except StructureError as exc:
        raise ConfigError(f"material library {MATERIAL_LIBRARY_DIR}: {exc}") from exc


def check_material(system: str, key_parts: tuple, name: Any) -> Material:
    """The material ``name`` of the library (:class:`ConfigError` naming the key if unknown)."""
    mats = materials()
    if name not in mats:
        raise ConfigError(f"config key '{key(system, *key_parts)}': unknown material {name!r} "
                          f"(known: {', '.join(sorted(mats))}; add one to structures/materials.yaml)")
    return mats[name]


def max_atoms(config: Mapping) -> int:
    """``profiles.<profile>.structures.max_atoms``."""
    return int(structure_settings(config)["max_atoms"])
