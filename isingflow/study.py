"""The heterostructures of a study: each declared by its layers, everything else derived.

``heterostructures: {NbSe2-CrI3-NbSe2: {layers: [NbSe2, CrI3, NbSe2]}}`` in the config is all a
user writes.  :func:`plan_study` derives, per heterostructure, the roles of its layers, the
elements whose moments are reported, the interlayer distances (the van der Waals starting rule of
:func:`isingflow.structures.heterostructures.vdw_distance_angstrom`), the magnet's spin-filter
thickness per layer and the auxiliary systems the extraction needs, and returns the ``systems:``
entries the config lacks.  A ``systems:`` entry of the same name always wins (that is how the
paper's hand-tuned 2×2/1×1 trilayer stays as it is), and every derived role can be overridden in
the heterostructure's entry (``workflow/schemas/heterostructures.schema.yaml``).

:func:`isingflow.config.validate_config` adds the derived systems before the systems are
validated; the workflow reads the roles (:class:`Heterostructure`) from :func:`plan_study`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping

from isingflow.structures.errors import StructureError
from isingflow.structures.heterostructures import ENSEMBLE_DEPTH_ANGSTROM, plan_heterostructure, sc_magnet_interfaces
from isingflow.structures.materials import load_materials


class StudyError(ValueError):
    """A heterostructure entry cannot be planned (the message names the config key)."""


@dataclass(frozen=True)
class Heterostructure:
    """What the extraction of one heterostructure needs to know (all derived; see :func:`plan_study`)."""

    name: str                              # also its system of ``systems:``
    layers: tuple[str, ...]                # materials, bottom to top
    superconductor_layers: tuple[int, ...]
    magnet_layers: tuple[int, ...]
    superconductor_element: str            # the metal whose moments are reported (m_Nb)
    magnet_element: str                    # (m_Cr)
    monolayer_superconductor: str          # ΔSOC(k), E_F against vacuum
    monolayer_magnet: str                  # band edges against vacuum
    ensemble: str                          # the system whose lateral-shift × distance variants give ⟨λex⟩
    superconductor_bilayer: str            # t⊥ without the magnet, at the heterostructure's separation
    spin_filter_layer_thickness_angstrom: float

    def systems(self) -> tuple[str, ...]:
        """Every system this heterostructure's chain computes (itself and its auxiliary systems)."""
        return tuple(s for s in (self.name, self.ensemble, self.superconductor_bilayer, self.monolayer_superconductor,
                                 self.monolayer_magnet) if s)

    def extract_settings(self, extract: Mapping[str, Any]) -> dict[str, Any]:
        """The ``extract`` config section with this heterostructure's roles filled in."""
        out = copy.deepcopy(dict(extract))
        out.update(heterostructure=self.name, superconductor_layers=list(self.superconductor_layers),
                   magnet_layers=list(self.magnet_layers), superconductor_element=self.superconductor_element,
                   magnet_element=self.magnet_element, bilayer=self.superconductor_bilayer,
                   monolayer_superconductor=self.monolayer_superconductor, monolayer_magnet=self.monolayer_magnet)
        thickness = self.spin_filter_layer_thickness_angstrom
        out["spin_filter"] = {**out["spin_filter"], "layer_thickness_angstrom": thickness}
        return out


def _key(name: str, *parts) -> str:
    return "heterostructures." + ".".join([name, *map(str, parts)])


def _check_explicit(name: str, layers: list[str], spec: Mapping[str, Any], library: Mapping[str, Any]) -> None:
    """A ``systems:`` entry named like the heterostructure must be a stack of the same, known materials."""
    got = [lay.get("material") for lay in spec.get("layers", [])]
    if spec.get("kind") != "stack":
        raise StudyError(f"config key 'systems.{name}.kind': {spec.get('kind')!r}, but heterostructure {name!r} "
                         "(heterostructures:) needs a stack of that name")
    for i, material in enumerate(got):
        if material not in library:
            raise StudyError(f"config key 'systems.{name}.layers[{i}].material': unknown material {material!r} "
                             f"(material library: {sorted(library)})")
    if got != list(layers):
        i = next((k for k, (a, b) in enumerate(zip(got, layers)) if a != b), min(len(got), len(layers)))
        where = f"layers[{i}].material" if i < min(len(got), len(layers)) else "layers"
        raise StudyError(f"config key 'systems.{name}.{where}': the stack has layers {got}, but "
                         f"'{_key(name, 'layers')}' is {list(layers)} (a system named like a heterostructure is it)")


def _bilayer_spec(spec: dict[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The one-interface bilayer: the entry's stack settings and the lateral-shift × distance
    ensemble over [d − ENSEMBLE_DEPTH_ANGSTROM, d]."""
    out = {**spec, **copy.deepcopy(dict(entry.get("stack", {})))}
    d = out["distances_angstrom"][0]
    out.setdefault("ensemble", {"shifted_layers": [1], "distance_range_angstrom":
                                [round(d - ENSEMBLE_DEPTH_ANGSTROM, 3), d]})
    return out


def _with_supercells(spec: dict[str, Any], supercells) -> dict[str, Any]:
    if supercells:
        spec["layers"] = [{**lay, "supercell": m} for lay, m in zip(spec["layers"], supercells)]
    return spec


def _interface(plan) -> int:
    """Index k of the first superconductor/magnet interface (layers k, k + 1)."""
    return sc_magnet_interfaces(len(plan.layers), plan.superconductor_layers, plan.magnet_layers)[0]


def _derived(name: str, entry: Mapping[str, Any], plan, systems: Mapping[str, Any]) -> dict[str, dict]:
    """The ``systems:`` entries of this heterostructure that the config does not define."""
    new: dict[str, dict] = {}
    sup = entry.get("supercells")
    if name not in systems:
        new[name] = _with_supercells({**plan.system_spec(), **copy.deepcopy(dict(entry.get("stack", {})))}, sup)
    for role, aux in plan.auxiliary.items():
        if role == "bilayer" and not _bilayer_ensemble(entry):
            continue
        if entry.get(role) or aux["name"] in systems:   # named in the entry: a system of `systems:`
            continue
        spec = copy.deepcopy(aux["spec"])
        if role == "bilayer":
            k = _interface(plan)
            pair = None if not sup else (sup[k:k + 2] if k in plan.superconductor_layers else sup[k:k + 2][::-1])
            spec = _bilayer_spec(_with_supercells({k: v for k, v in spec.items() if k != "ensemble"}, pair), entry)
        elif role == "superconductor_bilayer":
            spec["same_separation_as"]["system"] = name
        new[aux["name"]] = spec
    return new


def _bilayer_ensemble(entry: Mapping[str, Any]) -> bool:
    """Whether ⟨λex⟩ comes from the one-interface bilayer's stacking ensemble (else: the
    heterostructure's own base λex, ``stacking_ensemble: false``)."""
    return bool(entry.get("stacking_ensemble", True) or entry.get("bilayer") or entry.get("ensemble_system"))


def _thickness(name: str, entry: Mapping[str, Any], magnet) -> float:
    t = entry.get("spin_filter_layer_thickness_angstrom") or magnet.layer_spacing_angstrom
    if not t:
        raise StudyError(f"config key '{_key(name, 'spin_filter_layer_thickness_angstrom')}': the magnet "
                         f"{magnet.name} has no layer_spacing_angstrom in the material library; give the "
                         "barrier thickness per layer (Å)")
    return float(t)


def _roles(name: str, entry: Mapping[str, Any], plan, materials) -> Heterostructure:
    sc_bilayer = plan.auxiliary["superconductor_bilayer"]["name"]
    bilayer = entry.get("bilayer") or plan.auxiliary["bilayer"]["name"]
    return Heterostructure(
        name=name, layers=plan.layers, superconductor_layers=plan.superconductor_layers,
        magnet_layers=plan.magnet_layers, superconductor_element=plan.superconductor_element,
        magnet_element=plan.magnet_element,
        monolayer_superconductor=entry.get("monolayer_superconductor")
        or plan.auxiliary["monolayer_superconductor"]["name"],
        monolayer_magnet=entry.get("monolayer_magnet") or plan.auxiliary["monolayer_magnet"]["name"],
        ensemble=entry.get("ensemble_system") or (bilayer if _bilayer_ensemble(entry) else name),
        superconductor_bilayer=entry.get("superconductor_bilayer") or sc_bilayer,
        spin_filter_layer_thickness_angstrom=_thickness(name, entry, materials[plan.layers[plan.magnet_layers[0]]]))


def _plan_one(name: str, entry: Mapping[str, Any], systems: Mapping[str, Any], materials):
    layers = list(entry["layers"])
    if entry.get("supercells") is not None and len(entry["supercells"]) != len(layers):
        raise StudyError(f"config key '{_key(name, 'supercells')}': {len(entry['supercells'])} matrices for "
                         f"{len(layers)} layers")
    over = {k: entry[k] for k in ("superconductor_layers", "magnet_layers", "distances_angstrom") if k in entry}
    if name in systems:
        _check_explicit(name, layers, systems[name], materials)
        if "distances_angstrom" in systems[name]:
            over.setdefault("distances_angstrom", systems[name]["distances_angstrom"])
    try:
        plan = plan_heterostructure(name, layers, materials, over)
    except StructureError as exc:
        raise StudyError(str(exc)) from None
    if len(plan.superconductor_layers) < 2:
        raise StudyError(f"config key '{_key(name, 'layers')}': {layers} has {len(plan.superconductor_layers)} "
                         "superconductor layer; the chain extracts an S–magnet–S junction (t⊥ between two "
                         "superconductor layers, the tunnelling spin filter), so it needs two")
    return plan


def plan_study(config: Mapping[str, Any]) -> tuple[dict[str, Heterostructure], dict[str, dict]]:
    """The heterostructures of ``config`` and the ``systems:`` entries they need that it lacks.

    Returns ``(roles, new_systems)``: heterostructure name → :class:`Heterostructure`, and
    system name → ``systems:`` entry.  An auxiliary system shared by several heterostructures
    (the NbSe2 monolayer) appears once; two heterostructures that would derive different systems
    of one name raise :class:`StudyError`, as does a role that names no system.
    """
    systems = dict(config.get("systems", {}))
    entries = config.get("heterostructures") or {}
    materials = load_materials() if entries else {}
    roles: dict[str, Heterostructure] = {}
    new: dict[str, dict] = {}
    for name, entry in entries.items():
        plan = _plan_one(name, entry, systems, materials)
        for sys_name, spec in _derived(name, entry, plan, {**systems, **new}).items():
            new[sys_name] = spec
        for sys_name, spec in _derived(name, entry, plan, systems).items():
            if new.get(sys_name) != spec:
                raise StudyError(f"config key '{_key(name, 'layers')}': needs a system {sys_name!r} that differs "
                                 "from the one of that name another heterostructure needs; name it in the entry")
        roles[name] = _roles(name, entry, plan, materials)
    known = {**systems, **new}
    for name, het in roles.items():
        for role in ("monolayer_superconductor", "monolayer_magnet", "ensemble", "superconductor_bilayer"):
            value = getattr(het, role)
            key = _key(name, role if role != "ensemble" else "ensemble_system")
            if value is not None and value not in known:
                raise StudyError(f"config key '{key}': {value!r} is not a system of 'systems:'")
            if role in ("ensemble", "superconductor_bilayer") and known[value].get("kind") != "stack":
                raise StudyError(f"config key '{key}': {value!r} is a {known[value].get('kind')} system, not a stack")
    return roles, new
