"""The systems of the configuration: plan (from the configuration alone) and build, one builder per kind.

:func:`list_variants` gives the variant names of a system (Snakemake needs them when it builds
the DAG), :func:`build_system` builds them (a :class:`BuiltSystem`, which also carries the plan,
so that writing the files needs no second planning), :func:`validate_systems` builds every
system once and turns any problem into a :class:`~isingflow.config.ConfigError` that names the
config key.  Kinds: ``monolayer``, ``stack`` (:mod:`isingflow.structures.stack_system`) and
``vacancy``; the schema ``workflow/schemas/systems.schema.yaml`` gives each kind's keys and
defaults.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from isingflow.config import ConfigError
from isingflow.structures.build import build_monolayer
from isingflow.structures.errors import OverlapError, StructureError
from isingflow.structures.lattice import as_int_matrix, layer_strain, round_strain
from isingflow.structures.plan import (
    BASE,
    PRISTINE,
    SystemPlan,
    VariantPlan,
    check_material,
    is_enabled,
    key,
    max_atoms,
    structure_settings,
    system_spec,
    vacuum_angstrom,
)
from isingflow.structures.stack_system import build_stack_variants, plan_stack
from isingflow.structures.vacancy import vacancy_supercell


@dataclass
class BuiltSystem(Mapping):
    """The built variants of a system: a mapping variant → (ase.Atoms, manifest parameters), and its plan."""

    plan: SystemPlan
    variants: dict[str, tuple[Any, dict]]

    def __getitem__(self, name: str) -> tuple[Any, dict]:
        return self.variants[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variants)

    def __len__(self) -> int:
        return len(self.variants)


def list_systems(config: Mapping) -> list[str]:
    """Names of the enabled systems, in configuration order."""
    return [name for name, spec in (config.get("systems") or {}).items() if is_enabled(spec)]


# --------------------------------------------------------------------------- monolayer
def _plan_monolayer(config: Mapping, system: str, spec: dict) -> SystemPlan:
    check_material(system, ("material",), spec.get("material"))
    return SystemPlan(system, "monolayer", spec, [VariantPlan(BASE, "base")])


def _build_monolayer(config: Mapping, plan: SystemPlan, names=None) -> dict[str, tuple]:
    system, spec = plan.system, plan.spec
    mat = check_material(system, ("material",), spec["material"])
    sc = spec.get("supercell")
    try:
        atoms = build_monolayer(mat, spec.get("a_angstrom"), vacuum_angstrom(config, spec), supercell=sc,
                                magmoms=spec.get("magmoms"), min_distance_angstrom=float(spec["min_distance_angstrom"]))
    except OverlapError as exc:
        raise ConfigError(f"config key '{key(system, 'a_angstrom')}': {exc}") from None
    except StructureError as exc:
        raise ConfigError(f"config key '{key(system)}': {exc}") from None
    m = (np.eye(2, dtype=int) if sc is None else as_int_matrix(sc)).tolist()
    params = {"material": mat.name, "supercell_matrix": m,
              "a_angstrom": float(np.linalg.norm(mat.cell_2d(spec.get("a_angstrom"))[0])),
              "layers": [{"index": 0, "material": mat.name, "supercell_matrix": m,
                          "strain": round_strain(layer_strain(np.eye(2), np.eye(2))),
                          "plane_element": mat.plane_element,
                          "plane_z_angstrom": round(float(atoms.info["plane_z_angstrom"]), 6)}]}
    return {BASE: (atoms, params)}


# --------------------------------------------------------------------------- vacancy
def _plan_vacancy(config: Mapping, system: str, spec: dict) -> SystemPlan:
    host = spec.get("host")
    hspec = (config.get("systems") or {}).get(host)
    if hspec is None or hspec.get("kind") not in ("monolayer", "stack"):
        raise ConfigError(f"config key '{key(system, 'host')}': {host!r} is not a monolayer or stack system")
    variants = [VariantPlan(BASE, "base")]
    if spec["include_pristine"]:
        variants.append(VariantPlan(PRISTINE, "pristine"))
    return SystemPlan(system, "vacancy", spec, variants)


def _vacancy_n(config: Mapping, system: str, spec: Mapping) -> tuple[int, str]:
    """N of the N×N×1 supercell and the config key that sets it."""
    if "supercell_n" in spec:
        return int(spec["supercell_n"]), key(system, "supercell_n")
    return (int(structure_settings(config)["vacancy_supercell"]),
            f"profiles.{config['profile']}.structures.vacancy_supercell")


def _build_vacancy(config: Mapping, plan: SystemPlan, names=None) -> dict[str, tuple]:
    from ase.build import make_supercell

    system, spec = plan.system, plan.spec
    hatoms, hparams = build_system(config, spec["host"], variants=[BASE])[BASE]
    n, n_key = _vacancy_n(config, system, spec)
    limit = max_atoms(config)
    if n * n * len(hatoms) - 1 > limit:
        raise ConfigError(f"config key '{n_key}': a {n}×{n}×1 supercell of {spec['host']} has "
                          f"{n * n * len(hatoms) - 1} atoms after removing one, more than "
                          f"profiles.{config['profile']}.structures.max_atoms = {limit}")
    try:
        atoms, removed = vacancy_supercell(
            hatoms, n, element=spec["element"], index=spec.get("site_index"), position=spec["position"],
            layer=spec.get("layer"), magmom_near_vacancy=float(spec["magmom_near_vacancy"]),
            neighbour_element=spec.get("neighbour_element"))
    except StructureError as exc:
        raise ConfigError(f"config key '{key(system, 'site_index' if 'site_index' in spec else 'element')}': "
                          f"{exc}") from None
    layers = copy.deepcopy(hparams["layers"])
    for lm in layers:
        lm["supercell_matrix"] = (np.array(lm["supercell_matrix"]) * n).tolist()
    common = {"host": spec["host"], "supercell_n": n, "host_supercell_matrix": [[n, 0], [0, n]]}
    out = {BASE: (atoms, {**common, "vacancy": removed, "layers": layers})}
    if spec["include_pristine"]:
        pristine = make_supercell(hatoms, np.diag([n, n, 1]))
        pristine.pbc = hatoms.pbc
        out[PRISTINE] = (pristine, {**common, "layers": layers})
    return out


# --------------------------------------------------------------------------- dispatch
_PLANNERS: dict[str, Callable[[Mapping, str, dict], SystemPlan]] = {
    "monolayer": _plan_monolayer, "stack": plan_stack, "vacancy": _plan_vacancy}
_BUILDERS: dict[str, Callable[..., dict[str, tuple]]] = {
    "monolayer": _build_monolayer, "stack": build_stack_variants, "vacancy": _build_vacancy}


def plan_system(config: Mapping, system: str) -> SystemPlan:
    """The plan of ``system``: its spec with defaults and its variants (:class:`ConfigError` on any problem)."""
    spec = system_spec(config, system)
    return _PLANNERS[spec["kind"]](config, system, spec)


def list_variants(config: Mapping, system: str) -> list[str]:
    """Variant names of ``system``, from the configuration alone (used to build the DAG).

    ``base`` comes first; stacks with an ``ensemble`` add ``reg-<p1>-<p2>_d-<d>`` (stacking
    shift in shift-cell fractions, distance in Å); vacancy systems may add ``pristine``.
    """
    return [v.name for v in plan_system(config, system).variants]


def _size_key(config: Mapping, plan: SystemPlan) -> str:
    """The config key to name when a variant has too many atoms."""
    if plan.kind == "monolayer":
        return key(plan.system, "supercell")
    if plan.kind == "stack":
        return key(plan.system, "layers")
    return _vacancy_n(config, plan.system, plan.spec)[1]


def build_system(config: Mapping, system: str, variants: Sequence[str] | None = None) -> BuiltSystem:
    """Build every variant of ``system`` (or only ``variants``).

    Parameters
    ----------
    config
        The configuration (validated or a plain dict: the schema defaults are filled in here).
    system
        A name of ``systems:``.
    variants
        Only these variants (default: all).

    Returns
    -------
    BuiltSystem
        Variant name → (ase.Atoms, parameters for the manifest), with the plan.

    Raises
    ------
    ConfigError
        Any problem, naming the config key.
    """
    plan = plan_system(config, system)
    out = _BUILDERS[plan.kind](config, plan, variants)
    limit = max_atoms(config)
    for name, (atoms, _params) in out.items():
        if len(atoms) > limit:
            raise ConfigError(f"config key '{_size_key(config, plan)}': variant '{name}' has {len(atoms)} atoms, "
                              f"more than profiles.{config['profile']}.structures.max_atoms = {limit}")
        atoms.info.update(system=system, variant=name, kind=plan.kind)
    return BuiltSystem(plan, out)


def validate_systems(config: Mapping) -> dict[str, list[str]]:
    """Check every enabled system by building all its variants once; return their names.

    Raises
    ------
    ConfigError
        Unknown material, strain beyond tolerance, overlapping atoms, too many atoms for the
        profile, a key its kind does not use, ... with the config key in the message.
    """
    return {system: list(build_system(config, system)) for system in list_systems(config)}


def _needed_systems(systems: Mapping, system: str) -> set[str]:
    """``system`` and the systems it depends on (vacancy host, ``same_separation_as``)."""
    needed, todo = set(), [system]
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
    return needed


def system_config(config: Mapping, system: str) -> dict:
    """The part of ``config`` that ``system`` depends on (what a rule passes as ``params``)."""
    systems = config.get("systems") or {}
    needed = _needed_systems(systems, system)
    prof = config["profile"]
    pset = config["profiles"][prof]
    kinds = {systems[s].get("kind") for s in needed}
    structures = copy.deepcopy(pset.get("structures")) or {}
    if "vacancy" not in kinds:  # keys a system does not use must not trigger its rebuild
        structures.pop("vacancy_supercell", None)
    if "stack" not in kinds:
        for name in ("shift_grid", "high_symmetry_shifts", "n_distances"):
            structures.pop(name, None)
    return {"profile": prof,
            "profiles": {prof: {"structures": structures,
                                "dft": {"vacuum_angstrom": pset["dft"]["vacuum_angstrom"]}}},
            "systems": {s: copy.deepcopy(systems[s]) for s in systems if s in needed}}
