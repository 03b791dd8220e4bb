"""⟨λex⟩ at each stacking's own van der Waals equilibrium.

The stacking average of ``isingflow.extract.ensemble`` is taken at one distance for every lateral
shift τ (e.g. the paper's 6.88 Å).  A real interface is not held at one distance: each registry
sits at the minimum d0(τ) of its own binding curve (``results/geometry/<system>/binding.json``).
Every point of a binding curve is a converged SCF whose bands on the SCF mesh give λex(τ, d), so
λex(τ, d0(τ)) follows by interpolation between the two computed distances that bracket d0 —
exponential (log-linear, exact for λex ∝ e^(−d/ℓ)) when both have the same sign, linear otherwise;
never extrapolated.  The average over the n × n grid of lateral shifts uses the same symmetry
weights as at fixed distance; the change between the two finest grids is the convergence measure.

Definitions: ``docs/ensemble.md`` ("At each stacking's equilibrium").
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


class EquilibriumAverageError(ValueError):
    """λex cannot be placed at a stacking's d0 (d0 outside the computed distances, weights missing)."""


def lambda_at_distance(d_angstrom: Sequence[float], lambda_meV: Sequence[float],
                       d0_angstrom: float) -> tuple[float, list[float], str]:
    """λex at ``d0_angstrom`` from its values at the computed distances of one stacking.

    Returns (λex in meV, the bracketing distances, ``"exact"``, ``"exponential"`` or ``"linear"``).

    Raises
    ------
    EquilibriumAverageError
        ``d0_angstrom`` lies outside the computed distances (no extrapolation).
    """
    order = np.argsort(np.asarray(d_angstrom, dtype=float))
    d = np.asarray(d_angstrom, dtype=float)[order]
    lam = np.asarray(lambda_meV, dtype=float)[order]
    hit = np.flatnonzero(np.abs(d - d0_angstrom) < 1e-6)
    if hit.size:
        return float(lam[hit[0]]), [float(d[hit[0]])] * 2, "exact"
    if not d[0] < d0_angstrom < d[-1]:
        raise EquilibriumAverageError(f"d0 = {d0_angstrom:.3f} Å lies outside the distances with λex "
                                      f"({d[0]:.2f}–{d[-1]:.2f} Å); not extrapolated")
    i = int(np.searchsorted(d, d0_angstrom))
    (d1, d2), (l1, l2) = d[i - 1:i + 1], lam[i - 1:i + 1]
    t = (d0_angstrom - d1) / (d2 - d1)
    if l1 * l2 > 0:
        value = float(np.sign(l1) * np.exp((1 - t) * np.log(abs(l1)) + t * np.log(abs(l2))))
        return value, [float(d1), float(d2)], "exponential"
    return float((1 - t) * l1 + t * l2), [float(d1), float(d2)], "linear"


def stacking_d0(binding: Mapping) -> tuple[dict[str, float], bool]:
    """Each stacking's d0 (Å) from ``binding.json``: counterpoise-corrected when every curve has it
    (the same choice as :func:`isingflow.structures.equilibrium.equilibrium_choice`)."""
    curves = list(binding.get("curves") or [])
    if not curves:
        raise EquilibriumAverageError("binding.json has no binding curves")
    cp = all(c.get("d0_cp_angstrom") is not None for c in curves)
    key = "d0_cp_angstrom" if cp else "d0_angstrom"
    return {c["stacking"]: float(c[key]) for c in curves}, cp


def equilibrium_average(binding: Mapping, samples: Sequence[Mapping], grids: Sequence[int] = (3, 6)) -> dict:
    """Stacking average of λex with every lateral shift at its own d0.

    Parameters
    ----------
    binding
        The system's ``binding.json`` (``curves`` with ``stacking`` and ``d0_angstrom``).
    samples
        One dict per computed point: ``stacking``, ``d_angstrom``, ``lambda_ex_meV``,
        ``grid_weights`` (n as a string → weight of that stacking in the n × n grid average) and
        ``weight`` (its weight among the sampled shifts: used only when no grid is covered).
    grids
        n of the n × n grids to report (those every stacking has a weight for).

    Returns
    -------
    dict
        ``stackings`` (d0, λex(d0), bracket, interpolation, weights), ``by_grid_meV``,
        ``stacking_grid`` (the finest), ``lambda_ex_avg_meV``, ``grid_change_meV`` (finest minus
        the next coarser; None with one grid), ``counterpoise_corrected``, ``method``.
    """
    d0, cp = stacking_d0(binding)
    rows = []
    for name, d_eq in d0.items():
        pts = [s for s in samples if s["stacking"] == name]
        if not pts:
            raise EquilibriumAverageError(f"stacking {name!r}: no λex computed along its binding curve")
        try:
            lam, bracket, how = lambda_at_distance([p["d_angstrom"] for p in pts],
                                                   [p["lambda_ex_meV"] for p in pts], d_eq)
        except EquilibriumAverageError as exc:
            raise EquilibriumAverageError(f"stacking {name!r}: {exc}") from None
        rows.append({"stacking": name, "d0_angstrom": d_eq, "lambda_ex_meV": lam, "bracket_angstrom": bracket,
                     "interpolation": how, "grid_weights": dict(pts[0].get("grid_weights") or {}),
                     "weight": float(pts[0].get("weight", 1.0))})
    by_grid = {}
    for n in sorted({int(g) for g in grids}):
        w = [r["grid_weights"].get(str(n)) for r in rows]
        if all(x is not None for x in w) and abs(sum(w) - 1.0) < 1e-6:
            by_grid[n] = float(np.dot(w, [r["lambda_ex_meV"] for r in rows]))
    ns = sorted(by_grid)
    curve = f"the d0 of its own {'counterpoise-corrected ' if cp else ''}PBE+D3(BJ) binding curve"
    out = {"stackings": rows, "by_grid_meV": {str(n): v for n, v in by_grid.items()},
           "stacking_grid": ns[-1] if ns else None,
           "grid_change_meV": by_grid[ns[-1]] - by_grid[ns[-2]] if len(ns) > 1 else None,
           "counterpoise_corrected": cp}
    if ns:
        out["lambda_ex_avg_meV"] = by_grid[ns[-1]]
        out["method"] = (f"stacking average over the {ns[-1]}×{ns[-1]} grid of lateral shifts, each shift at "
                         f"{curve} (λex interpolated between the bracketing computed distances)")
    else:   # e.g. the smoke profile's three-fold shifts alone
        w = np.array([float(r["weight"]) for r in rows])
        out["lambda_ex_avg_meV"] = float(np.dot(w, [r["lambda_ex_meV"] for r in rows]) / w.sum())
        out["method"] = (f"average over the sampled shifts with their own weights, each at {curve} (no grid "
                         "of lateral shifts: not a converged stacking average)")
    return out


def stacking_weights(manifest: Mapping) -> dict[str, dict]:
    """Stacking label (``reg-<p1>-<p2>``, the variant name before ``_d-``) → ``grid_weights`` and
    ``weight`` of that lateral shift, from a stack's structure manifest."""
    out: dict[str, dict] = {}
    for name, rec in manifest.get("variants", {}).items():
        reg = rec.get("registry") or {}
        if "_d-" in name and reg:
            out.setdefault(name.rsplit("_d-", 1)[0], {"grid_weights": dict(reg.get("grid_weights") or {}),
                                                      "weight": float(reg.get("weight", 1.0))})
    return out
