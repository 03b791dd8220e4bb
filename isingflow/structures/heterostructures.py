"""A heterostructure declared by its layers alone: roles, distances and auxiliary systems derived.

``plan_heterostructure("NbSe2-CrI3-NbSe2", ["NbSe2", "CrI3", "NbSe2"])`` reads the material
library's ``role`` of each layer (superconductor, magnet, other), the elements whose moments are
reported (each role's reference-plane element), a starting interlayer distance per interface
(:func:`vdw_distance_angstrom`) and the auxiliary systems the extraction needs: the monolayers,
the one-interface superconductor/magnet bilayer (its stacking ensemble gives ⟨λex⟩) and the
superconductor bilayer at the heterostructure's separation (t⊥ without the magnet).
Any derived value can be overridden.

:func:`isingflow.study.plan_study` turns the ``heterostructures:`` of a config into these plans and
the ``systems:`` entries the workflow builds and computes, each shared system (the NbSe2 monolayer)
once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from isingflow.structures.errors import StructureError
from isingflow.structures.materials import Material, get_material, load_materials

ENSEMBLE_DEPTH_ANGSTROM = 0.6
"""The one-interface bilayer's ensemble spans [d − this, d] (the quick profile's 6.28–6.88 Å)."""


def _outer(mat: Material, side: str) -> tuple[float, str]:
    """Height (Å, ≥ 0) of the outermost atoms above (side "top") or below ("bottom") the reference
    plane, and their element."""
    site = max(mat.sites, key=lambda s: s.z_angstrom) if side == "top" else min(mat.sites, key=lambda s: s.z_angstrom)
    return abs(site.z_angstrom), site.element


def vdw_distance_angstrom(lower: Material, upper: Material) -> float:
    """Starting plane-to-plane distance of two stacked layers: the heights of their facing outer
    atoms plus those atoms' van der Waals radii (Bondi, ``ase.data.vdw_radii``).

    For NbSe2/CrBr3: 1.68 + 1.448 + 1.90 (Se) + 1.85 (Br) = 6.88 Å, the paper's "maximal possible
    separation"; for NbSe2/CrI3 7.05 Å.  A start only: the binding curve (``snakemake geometry``)
    determines the equilibrium.
    """
    from ase.data import atomic_numbers, vdw_radii

    h1, x1 = _outer(lower, "top")
    h2, x2 = _outer(upper, "bottom")
    return round(h1 + h2 + float(vdw_radii[atomic_numbers[x1]]) + float(vdw_radii[atomic_numbers[x2]]), 3)


@dataclass(frozen=True)
class HeterostructurePlan:
    """What a heterostructure's layers imply (every field may be overridden in the config)."""

    name: str
    layers: tuple[str, ...]                    # materials, bottom to top
    superconductor_layers: tuple[int, ...]
    magnet_layers: tuple[int, ...]
    superconductor_element: str
    magnet_element: str
    distances_angstrom: tuple[float, ...]      # plane to plane, one per interface
    auxiliary: dict[str, dict[str, Any]] = field(default_factory=dict)   # role → {"name", "spec"}

    def system_spec(self) -> dict[str, Any]:
        """The heterostructure as a ``systems:`` entry (kind stack)."""
        return {"kind": "stack", "layers": [{"material": m} for m in self.layers],
                "reference_layer": self.superconductor_layers[0], "distances_angstrom": list(self.distances_angstrom),
                "description": f"{self.name}: declared by its layers (isingflow.structures.heterostructures)"}


def _roles(name: str, mats: list[Material]) -> tuple[list[int], list[int]]:
    sc = [i for i, m in enumerate(mats) if m.role == "superconductor"]
    mag = [i for i, m in enumerate(mats) if m.role == "magnet"]
    key = f"heterostructures.{name}.layers"
    if not sc:
        raise StructureError(f"config key '{key}': no superconductor layer among {[m.name for m in mats]} "
                             "(material library `role: superconductor`)")
    if not mag:
        raise StructureError(f"config key '{key}': no magnet layer among {[m.name for m in mats]} "
                             "(material library `role: magnet`)")
    for kind, idx in (("superconductor", sc), ("magnet", mag)):
        if len({mats[i].name for i in idx}) > 1:
            raise StructureError(f"config key '{key}': more than one {kind} material "
                                 f"({sorted({mats[i].name for i in idx})}); give the roles in the config")
    return sc, mag


def plan_heterostructure(name: str, layers: Sequence[str], materials: Mapping[str, Material] | None = None,
                         overrides: Mapping[str, Any] | None = None) -> HeterostructurePlan:
    """Roles, elements, distances and auxiliary systems of the heterostructure ``layers`` (bottom to top).

    ``overrides``: any of ``superconductor_layers``, ``magnet_layers``, ``distances_angstrom``.
    Raises :class:`StructureError` naming ``heterostructures.<name>.layers`` for fewer than two
    layers, an unknown material, or no superconductor or no magnet.
    """
    materials = load_materials() if materials is None else materials
    over = dict(overrides or {})
    key = f"heterostructures.{name}.layers"
    if len(layers) < 2:
        raise StructureError(f"config key '{key}': a heterostructure needs at least two layers")
    try:
        mats = [get_material(m, materials) for m in layers]
    except StructureError as exc:
        raise StructureError(f"config key '{key}': {exc}") from None
    if {"superconductor_layers", "magnet_layers"} <= set(over):
        sc, mag = list(over["superconductor_layers"]), list(over["magnet_layers"])
    else:
        sc, mag = _roles(name, mats)
        sc, mag = list(over.get("superconductor_layers", sc)), list(over.get("magnet_layers", mag))
    d = over.get("distances_angstrom") or [vdw_distance_angstrom(a, b) for a, b in zip(mats[:-1], mats[1:])]
    if len(d) != len(mats) - 1:
        raise StructureError(f"config key 'heterostructures.{name}.distances_angstrom': {len(d)} distances for "
                             f"{len(mats) - 1} interfaces")
    plan = HeterostructurePlan(name=name, layers=tuple(m.name for m in mats), superconductor_layers=tuple(sc),
                               magnet_layers=tuple(mag), superconductor_element=mats[sc[0]].plane_element,
                               magnet_element=mats[mag[0]].plane_element,
                               distances_angstrom=tuple(float(x) for x in d))
    return HeterostructurePlan(**{**plan.__dict__, "auxiliary": _auxiliary(plan, mats)})


def sc_magnet_interfaces(n_layers: int, superconductor_layers: Sequence[int],
                         magnet_layers: Sequence[int]) -> list[int]:
    """Interfaces k (between layers k and k + 1) that join a superconductor and a magnet layer."""
    sc, mag = set(superconductor_layers), set(magnet_layers)
    return [k for k in range(n_layers - 1) if ({k, k + 1} & sc) and ({k, k + 1} & mag)]


def _auxiliary(plan: HeterostructurePlan, mats: list[Material]) -> dict[str, dict[str, Any]]:
    sc_mat, mag_mat = mats[plan.superconductor_layers[0]], mats[plan.magnet_layers[0]]
    out: dict[str, dict[str, Any]] = {}
    for role, m in (("monolayer_superconductor", sc_mat), ("monolayer_magnet", mag_mat)):
        out[role] = {"name": f"{m.name}-1L", "spec": {"kind": "monolayer", "material": m.name,
                                                      "description": f"{m.name} monolayer"}}
    # the first superconductor/magnet interface of the stack
    i = sc_magnet_interfaces(len(mats), plan.superconductor_layers, plan.magnet_layers)[0]
    d = plan.distances_angstrom[i]
    out["bilayer"] = {"name": f"{sc_mat.name}-{mag_mat.name}", "spec": {
        "kind": "stack", "layers": [{"material": sc_mat.name}, {"material": mag_mat.name}],
        "reference_layer": 0, "distances_angstrom": [d],
        "ensemble": {"shifted_layers": [1], "distance_range_angstrom": [round(d - ENSEMBLE_DEPTH_ANGSTROM, 3), d]},
        "description": f"one {sc_mat.name}/{mag_mat.name} interface: the stacking ensemble of ⟨λex⟩"}}
    if len(plan.superconductor_layers) >= 2:
        a, b = plan.superconductor_layers[0], plan.superconductor_layers[-1]
        out["superconductor_bilayer"] = {"name": f"{sc_mat.name}-{sc_mat.name}-{plan.name}-spacing", "spec": {
            "kind": "stack", "layers": [{"material": sc_mat.name}, {"material": sc_mat.name}],
            "same_separation_as": {"system": plan.name, "layers": [a, b]},
            "description": f"{sc_mat.name} bilayer separated as in {plan.name} (t⊥ without the magnet)"}}
    return out
