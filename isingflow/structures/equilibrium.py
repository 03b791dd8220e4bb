"""A heterostructure at the van der Waals equilibrium of its lowest-energy stacking.

The geometry stage (``docs/geometry.md``) gives, for the one-interface bilayer of a heterostructure,
a binding curve E_b(d) per lateral stacking, its minimum d0 and the stacking of lowest E_b(d0)
(``results/geometry/<bilayer>/binding.json``).  :func:`equilibrium_stack` puts the heterostructure
into that geometry: the magnet layer(s) take the lowest stacking's lateral shift relative to the
superconductor layers (the same Cartesian shift as in the bilayer, so the lower interface is the
bilayer's interface atom for atom: checked), and every superconductor/magnet interface is set to
d0 by moving the layers rigidly along z (each layer's internal geometry unchanged, as in the binding
curve).  The strained layer keeps the library heights, as in the binding curves (the relaxed layer
of ``geometry_relax_layer`` is reported, not inserted: its curves were not computed).

Where the binding curves carry a counterpoise correction (``geometry.counterpoise_curve``), the
stacking and d0 come from the corrected curves (the LCAO basis-set superposition error pulls the
uncorrected minimum inwards); the record says which.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from ase import Atoms

from isingflow.structures.heterostructures import sc_magnet_interfaces
from isingflow.structures.stacking import apply_shift


class EquilibriumError(ValueError):
    """The binding curves or the structures do not define an equilibrium geometry."""


def equilibrium_choice(binding: Mapping[str, Any]) -> dict[str, Any]:
    """The stacking and d0 (Å) a heterostructure takes from its bilayer's ``binding.json``.

    Counterpoise-corrected curves are used when every curve has a corrected minimum; otherwise the
    uncorrected ``lowest_stacking`` and its ``d0_angstrom``.
    """
    curves = list(binding.get("curves") or [])
    if not curves:
        raise EquilibriumError("binding.json has no binding curves")
    cp = all(c.get("d0_cp_angstrom") is not None for c in curves)
    key_e, key_d = ("e_b0_cp_meV_per_angstrom2", "d0_cp_angstrom") if cp else ("e_b0_meV_per_angstrom2", "d0_angstrom")
    best = min(curves, key=lambda c: float(c[key_e]))
    if not cp and best["stacking"] != binding.get("lowest_stacking"):
        raise EquilibriumError(f"binding.json: lowest_stacking {binding.get('lowest_stacking')!r} is not the "
                               f"curve of lowest E_b(d0) ({best['stacking']!r})")
    return {"stacking": best["stacking"], "registry_frac": best.get("registry_frac"),
            "d0_angstrom": float(best[key_d]), "e_b0_meV_per_angstrom2": float(best[key_e]),
            "counterpoise_corrected": cp, "fit_method": best.get("fit_method"),
            "stackings_e_b0_meV_per_angstrom2": {c["stacking"]: float(c[key_e]) for c in curves}}


def _variant_of(bilayer_manifest: Mapping[str, Any], stacking: str) -> tuple[str, dict]:
    """The first bilayer variant of lateral shift ``stacking`` (``reg-<p1>-<p2>``)."""
    for name, rec in bilayer_manifest["variants"].items():
        if name.rsplit("_d-", 1)[0] == stacking and rec.get("registry"):
            return name, rec
    raise EquilibriumError(f"the bilayer {bilayer_manifest.get('system')!r} has no variant of stacking {stacking!r}")


def _lateral_signature(atoms: Atoms, layers: Sequence[int]) -> list[tuple]:
    """Species and in-plane fractional positions (mod 1, rounded) of ``layers``: equal for two
    structures whose layers sit at the same lateral positions in the same in-plane cell."""
    sel = np.isin(np.asarray(atoms.arrays["layer"]), list(layers))
    frac = np.mod(np.round(atoms.get_scaled_positions(wrap=False)[sel][:, :2], 4), 1.0)
    frac[np.isclose(frac, 1.0)] = 0.0
    symbols = np.array(atoms.get_chemical_symbols())[sel]
    return sorted((s, float(x), float(y)) for s, (x, y) in zip(symbols, np.round(frac, 4)))


def equilibrium_stack(base: Atoms, base_record: Mapping[str, Any], bilayer_manifest: Mapping[str, Any],
                      bilayer_variant: Atoms, binding: Mapping[str, Any], superconductor_layers: Sequence[int],
                      magnet_layers: Sequence[int], vacuum_angstrom: float) -> tuple[Atoms, dict[str, Any]]:
    """The heterostructure's base stack moved to the lowest stacking of ``binding`` at its d0.

    Parameters
    ----------
    base, base_record
        The heterostructure's ``base`` variant and its manifest record (``distances_angstrom``,
        ``layers[*].plane_element``, ``registry`` when it has a shift ensemble).
    bilayer_manifest, bilayer_variant
        The one-interface bilayer's manifest and the structure of its first variant of the chosen
        stacking (:func:`equilibrium_variant_name`): the reference for the lateral check.
    binding
        The bilayer's ``binding.json`` (:func:`equilibrium_choice`).
    superconductor_layers, magnet_layers
        Layer indices of the heterostructure; the magnet layers are shifted.
    vacuum_angstrom
        Vacuum below and above the moved stack (the manifest's).

    Returns
    -------
    (ase.Atoms, dict)
        The structure (arrays of ``base`` kept) and the record of the choice: stacking, shift
        applied (Å), d0, the interfaces set to it and the resulting plane distances.
    """
    from isingflow.dft.gpaw.layers import at_distances  # numpy only; lazy: that module loads GPAW

    choice = equilibrium_choice(binding)
    name, rec = _variant_of(bilayer_manifest, choice["stacking"])
    base_shift = np.array((base_record.get("registry") or {}).get("shift_angstrom", [0.0, 0.0]), dtype=float)
    shift = np.array(rec["registry"]["shift_angstrom"], dtype=float) - base_shift
    moved = apply_shift(base, list(magnet_layers), shift)
    lower = sc_magnet_interfaces(len(base_record["layers"]), superconductor_layers, magnet_layers)
    if not lower:
        raise EquilibriumError("the heterostructure has no superconductor/magnet interface")
    pair = [lower[0], lower[0] + 1]
    if not np.allclose(np.array(moved.cell)[:2, :2], np.array(bilayer_variant.cell)[:2, :2], atol=1e-6):
        raise EquilibriumError("the heterostructure and its bilayer have different in-plane cells")
    if _lateral_signature(moved, pair) != _lateral_signature(bilayer_variant, [0, 1]):
        raise EquilibriumError(f"layers {pair} of the shifted heterostructure do not sit like the bilayer variant "
                               f"{name!r} (layer order or base shift differ)")
    distances = [float(x) for x in base_record["distances_angstrom"]]
    for k in lower:
        distances[k] = choice["d0_angstrom"]
    planes = [lm["plane_element"] for lm in base_record["layers"]]
    out = at_distances(moved, planes, distances, vacuum_angstrom)
    record = {**choice, "bilayer_variant": name, "shift_angstrom": shift.tolist(),
              "shifted_layers": [int(i) for i in magnet_layers], "interfaces_at_d0": lower,
              "distances_angstrom": distances, "base_distances_angstrom": [float(x) for x in
                                                                            base_record["distances_angstrom"]]}
    return out, record


def equilibrium_variant_name(bilayer_manifest: Mapping[str, Any], binding: Mapping[str, Any]) -> str:
    """The bilayer variant whose structure :func:`equilibrium_stack` checks the lateral positions against."""
    return _variant_of(bilayer_manifest, equilibrium_choice(binding)["stacking"])[0]
