"""Which converged member of a stacking ensemble seeds which: the restart plan of the ensemble SCFs.

The members of a stack's ensemble at one interlayer distance differ only by a lateral shift of one
layer.  A member's SCF can therefore start from a converged neighbour's LCAO coefficients moved
with the atoms (:func:`isingflow.dft.gpaw.restart.restarted_calculator`) instead of from atomic
densities: on the quick bilayer it converges in 17 iterations instead of 49 (docs/dft.md,
"Restarts from a neighbouring registry").  The plan is decided here from the structure manifest
alone (no DFT code), so the workflow can draw the dependency at DAG-build time:

* members are grouped by their interlayer distances (a restart keeps the cell: GPAW's LCAO mode
  cannot carry wave functions into another cell);
* the members at the origin shift (the stack's own three-fold registry, the one with the most
  symmetry operations and the smallest irreducible k-set) always start from scratch;
* in each group the *source* is the member of the largest multiplicity (the least symmetric shift,
  whose symmetry operations the others keep, as GPAW requires of moved atoms), the first such in
  name order; every other member of the group restarts from it.

A restart that GPAW refuses at run time (a target of higher symmetry than planned) falls back to
an SCF from scratch and says so in ``gs.json``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def _is_origin(frac) -> bool:
    return frac is None or bool(np.allclose(np.mod(np.asarray(frac, dtype=float) + 1e-9, 1.0), 0.0, atol=1e-6))


def restart_sources(variants: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{target variant: source variant}`` of a stacking ensemble.

    Parameters
    ----------
    variants
        Variant name → its structure-manifest record (``registry`` with ``frac`` and
        ``multiplicity``, ``distances_angstrom``).  Variants without a ``registry`` record (e.g.
        ``base``) are neither sources nor targets.

    Returns
    -------
    dict
        Every member that restarts, mapped to the member it restarts from (a source is never a
        target, so no chain is longer than one step).
    """
    groups: dict[tuple[float, ...], list[str]] = {}
    for name in sorted(variants):
        record = variants[name]
        registry = record.get("registry") or {}
        if "frac" not in registry or _is_origin(registry.get("frac")):
            continue
        key = tuple(round(float(d), 6) for d in record.get("distances_angstrom") or ())
        groups.setdefault(key, []).append(name)
    plan: dict[str, str] = {}
    for names in groups.values():
        if len(names) < 2:
            continue
        source = max(names, key=lambda n: (int(variants[n]["registry"].get("multiplicity", 1)), -names.index(n)))
        plan.update({n: source for n in names if n != source})
    return plan
