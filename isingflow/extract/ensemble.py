"""The stacking ensemble: λex of every lateral shift × distance variant, the stacking average ⟨λex⟩
over uniform grids of lateral shifts with its grid convergence, and the λex(d) fit.

Definitions: ``docs/extraction.md`` (section "Stacking average ⟨λex⟩") and ``docs/ensemble.md``
(which system the ensemble is computed for, and what it costs).
"""
from __future__ import annotations

import csv
import logging
from typing import Any, Iterable, Sequence, TypedDict

import numpy as np

from isingflow.dft import BandStructure
from isingflow.extract.bands import exchange_splitting
from isingflow.extract.errors import PhysicsGateError
from isingflow.provenance import atomic_path

log = logging.getLogger(__name__)


class ExponentialFit(TypedDict):
    A_meV: float
    decay_length_angstrom: float
    decay_length_err_angstrom: float
    value_meV: float
    value_err_meV: float
    n_points: int
    d_eval_angstrom: float
    log_residual_rms: float


class EnsembleVariant(TypedDict):
    """One variant of the ensemble (a row of ``results/parameters/ensemble/<system>.csv``)."""

    variant: str
    d_angstrom: float
    registry: list[float] | None       # lateral shift in shift-cell fractions
    weight: float                      # weight of the shift in the average over the sampled grid
    grid_weights: dict[str, float]     # n → weight in the average over the n×n grid (n divides the sampled grid)
    min_lateral_distance_angstrom: float | None   # facing atomic planes, smallest lateral distance
    lambda_ex_meV: float
    scf_iterations: int
    wall_time_s: float | None


class Ensemble(TypedDict, total=False):
    """⟨λex⟩ of an ensemble (``results/parameters/ensemble/<system>.json``, without provenance)."""

    registry_average_by_distance_meV: dict[str, float]
    stacking_average_by_grid_meV: dict[str, dict[str, float]]
    grid_change_by_distance_meV: dict[str, float] | None
    stacking_grids: list[int]
    stacking_grid: int | None
    n_variants: int
    d_eval_angstrom: float
    fit: ExponentialFit | None
    lambda_ex_avg_meV: float
    lambda_ex_avg_by_grid_meV: dict[str, float]
    lambda_ex_grid_change_meV: float | None
    method: str
    system: str
    profile: str
    superconductor_layers: list[int]
    variants: list[EnsembleVariant]
    dft_wall_time_s: float


def fit_exponential_decay(d_angstrom, lambda_meV, d_eval_angstrom: float, weights=None) -> ExponentialFit:
    """Fit λ(d) = A·exp(−d/ℓ), sign kept, by (weighted) least squares on log|λ|; evaluate at ``d_eval_angstrom``.

    λex is signed (the superconductor's bands split parallel or antiparallel to the magnet), so
    A carries the common sign of the points and the value at ``d_eval`` keeps it; points of both
    signs cannot lie on one exponential and raise :class:`PhysicsGateError`, as does a zero.
    Returns A (meV), ℓ (Å) with its 1σ error, the value at ``d_eval`` with a 1σ uncertainty from
    the fit covariance (residual variance with n − 2 degrees of freedom, propagated in log space;
    zero for an exact two-point fit), and the residual scatter.  A fit that does not decay
    (ℓ ≤ 0) raises :class:`PhysicsGateError`.
    """
    d = np.asarray(d_angstrom, dtype=float)
    signed = np.asarray(lambda_meV, dtype=float)
    lam = np.abs(signed)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    if len(np.unique(d)) < 2:
        raise PhysicsGateError("λex(d) fit needs at least two distinct distances")
    if np.any(lam <= 0):
        raise PhysicsGateError("λex(d) fit: a zero exchange splitting cannot be fitted in log space")
    if len(set(np.sign(signed))) > 1:
        raise PhysicsGateError(f"λex(d) changes sign between the points {signed.round(3).tolist()} meV: "
                               "no single exponential describes it")
    sign = float(np.sign(signed[0]))
    w = w / w.mean()
    X = np.c_[np.ones_like(d), d]
    y = np.log(lam)
    XtW = X.T * w
    A = XtW @ X
    coef = np.linalg.solve(A, XtW @ y)
    resid = y - X @ coef
    dof = len(d) - 2
    s2 = float(w @ resid ** 2) / dof if dof > 0 else 0.0
    cov = s2 * np.linalg.inv(A)
    slope = coef[1]
    if slope >= 0:
        raise PhysicsGateError(f"λex(d) does not decay with distance (slope {slope:+.3f} per Å)")
    x_eval = np.array([1.0, d_eval_angstrom])
    log_val = float(x_eval @ coef)
    log_err = float(np.sqrt(x_eval @ cov @ x_eval))
    val = float(np.exp(log_val))
    return ExponentialFit(A_meV=sign * float(np.exp(coef[0])), decay_length_angstrom=float(-1 / slope),
                          decay_length_err_angstrom=float(np.sqrt(cov[1, 1]) / slope ** 2),
                          value_meV=sign * val, value_err_meV=val * log_err, n_points=int(len(d)),
                          d_eval_angstrom=float(d_eval_angstrom),
                          log_residual_rms=float(np.sqrt(np.mean(resid ** 2))))


def grid_averages(rows: Sequence[dict], grids: Sequence[int]) -> dict[int, dict[float, float]]:
    """n → {d: Σ_τ w_τ(n) λex(τ, d)}: the average over the n × n grid of lateral shifts at each distance.

    ``rows`` carry ``d_angstrom``, ``lambda_ex_meV`` and ``grid_weights`` (n, as a string → weight).
    A grid is left out where a row lacks its weight or the weights at some distance do not sum to
    one (a shift of that grid was not computed).
    """
    out: dict[int, dict[float, float]] = {}
    ds = sorted({float(r["d_angstrom"]) for r in rows})
    for n in sorted(set(int(g) for g in grids)):
        by_d = {}
        for d in ds:
            sel = [r for r in rows if float(r["d_angstrom"]) == d]
            w = [(r.get("grid_weights") or {}).get(str(n)) for r in sel]
            if any(x is None for x in w) or abs(sum(w) - 1.0) > 1e-6:
                break
            by_d[d] = float(np.dot(w, [r["lambda_ex_meV"] for r in sel]))
        else:
            out[n] = by_d
    return out


def _sampled_average(rows: Sequence[dict], ds: list[float]) -> dict[float, float]:
    """{d: Σ w λex / Σ w} with the rows' own ``weight`` (no grid: e.g. the three-fold shifts only)."""
    out = {}
    for d in ds:
        sel = [r for r in rows if float(r["d_angstrom"]) == d]
        w = np.array([float(r["weight"]) for r in sel])
        out[d] = float(np.dot(w, [r["lambda_ex_meV"] for r in sel]) / w.sum())
    return out


def ensemble_average(rows: list[dict], d_eval_angstrom: float, stacking_grids: Sequence[int] = (3, 6)) -> Ensemble:
    """⟨λex⟩ of a lateral-shift × distance ensemble.

    ``rows``: one dict per variant with ``d_angstrom``, ``weight``, ``grid_weights`` and
    ``lambda_ex_meV``.  At every distance the stacking average Σ_τ w_τ λex(τ) is given for every
    grid of ``stacking_grids`` the rows cover (:func:`grid_averages`), and the change from the next
    coarser grid to the finest (the convergence measure).  With two or more distances an
    exponential, sign kept, is fitted to the signed stacking averages of the distances
    (:func:`fit_exponential_decay`; the registries of one distance may split either way, their
    average is what the interface sees).  ⟨λex⟩ is the finest grid's average at
    ``d_eval_angstrom`` when that distance was computed, else the fit's value there.  Without any
    grid the rows' own weights are used (e.g. the three-fold shifts alone: not a grid average).
    """
    ds = sorted({float(r["d_angstrom"]) for r in rows})
    by_grid = grid_averages(rows, stacking_grids)
    grids = sorted(by_grid)
    finest = grids[-1] if grids else None
    by_d = by_grid[finest] if grids else _sampled_average(rows, ds)
    change = ({d: by_grid[grids[-1]][d] - by_grid[grids[-2]][d] for d in ds} if len(grids) >= 2 else None)
    out = Ensemble(registry_average_by_distance_meV={f"{d:g}": v for d, v in by_d.items()},
                   stacking_average_by_grid_meV={str(n): {f"{d:g}": v for d, v in by_grid[n].items()} for n in grids},
                   grid_change_by_distance_meV=None if change is None else {f"{d:g}": v for d, v in change.items()},
                   stacking_grids=grids, stacking_grid=finest, n_variants=len(rows),
                   d_eval_angstrom=float(d_eval_angstrom), fit=None, lambda_ex_avg_by_grid_meV={},
                   lambda_ex_grid_change_meV=None)
    if len(ds) >= 2:
        out["fit"] = fit_exponential_decay(list(by_d), list(by_d.values()), d_eval_angstrom)
    what = (f"stacking average over the {finest}×{finest} grid of lateral shifts" if finest
            else "average over the sampled shifts (no grid: not a converged stacking average)")
    hit = [d for d in ds if abs(d - d_eval_angstrom) < 1e-3]
    at = hit[0] if hit else (None if out["fit"] is not None else ds[-1])
    if at is not None:
        out["lambda_ex_avg_meV"] = by_d[at]
        out["lambda_ex_avg_by_grid_meV"] = {str(n): by_grid[n][at] for n in grids}
        out["lambda_ex_grid_change_meV"] = None if change is None else change[at]
        out["method"] = f"{what} at d = {at:g} Å" + ("" if hit else " (the only distance; not d_eval)")
        if change is not None:
            out["method"] += f" (convergence: change from the {grids[-2]}×{grids[-2]} grid)"
    else:
        out["lambda_ex_avg_meV"] = out["fit"]["value_meV"]
        out["method"] = f"exponential fit of the {what} at each distance, evaluated at d = {d_eval_angstrom:g} Å"
    return out


def ensemble_variant(name: str, manifest_variant: dict, mesh: BandStructure, gs: dict, layers: list[int],
                     lambda_ex: dict[str, Any]) -> EnsembleVariant:
    """λex of one variant (its SCF-mesh bands) with its distance and lateral shift from the structure manifest."""
    registry = manifest_variant.get("registry", {})
    return EnsembleVariant(variant=name, d_angstrom=float(manifest_variant["distances_angstrom"][0]),
                           registry=registry.get("frac"), weight=float(registry.get("weight", 1.0)),
                           grid_weights=dict(registry.get("grid_weights") or {}),
                           min_lateral_distance_angstrom=registry.get("min_lateral_distance_angstrom"),
                           lambda_ex_meV=exchange_splitting(mesh, layers, **lambda_ex).average_meV,
                           scf_iterations=gs["scf_iterations"], wall_time_s=gs.get("wall_time_s"))


def stacking_ensemble(variants: Iterable[tuple[str, BandStructure, dict]], manifest: dict, layers: list[int],
                      lambda_ex: dict[str, Any], d_eval_angstrom: float | None, system: str, profile: str,
                      stacking_grids: Sequence[int] = (3, 6)) -> Ensemble:
    """⟨λex⟩ of the variants ``(name, SCF-mesh bands, gs.json summary)`` of the stack ``system``.

    ``manifest`` is the stack's structure manifest (distances, lateral shifts and their grid
    weights per variant); ``layers`` are the superconductor's layers; ``d_eval_angstrom`` None: the
    base variant's distance (the upper end of the ensemble's range).  Returns
    :func:`ensemble_average` with the rows (``variants``), the superconductor layers and the
    summed SCF wall time.
    """
    rows = []
    for name, mesh, gs in variants:
        rows.append(ensemble_variant(name, manifest["variants"][name], mesh, gs, layers, lambda_ex))
        log.info("%s: λex = %.3f meV", name, rows[-1]["lambda_ex_meV"])
    if d_eval_angstrom is None:   # the stack's own distance (its base variant's; the ensemble's upper end)
        base = manifest["variants"].get("base", {}).get("distances_angstrom")
        d_eval_angstrom = float(base[0]) if base else max(r["d_angstrom"] for r in rows)
    ens = ensemble_average(rows, d_eval_angstrom, stacking_grids)
    if [r["variant"] for r in rows] == ["base"]:
        ens["method"] = "no lateral-shift ensemble in this profile: λex of the base variant only"
    ens.update(system=system, profile=profile, superconductor_layers=layers, variants=rows,
               dft_wall_time_s=sum(r["wall_time_s"] or 0.0 for r in rows))
    log.info("⟨λex⟩ = %.3f meV, by grid %s, change %s (%s)", ens["lambda_ex_avg_meV"],
             ens["lambda_ex_avg_by_grid_meV"], ens["lambda_ex_grid_change_meV"], ens["method"])
    return ens


def compare_ensembles(reference: dict, candidate: dict) -> dict:
    """How far ``candidate``'s ⟨λex⟩ (e.g. from the one-interface bilayer) lies from ``reference``'s
    (the heterostructure's own ensemble), against the reference's grid convergence.

    Both are :func:`ensemble_average` outputs.  ``within_grid_change`` is true when the difference is
    below the magnitude of the reference's change between its two finest grids (None when the
    reference has only one grid: then there is no convergence measure to compare with).
    """
    diff = candidate["lambda_ex_avg_meV"] - reference["lambda_ex_avg_meV"]
    change = reference.get("lambda_ex_grid_change_meV")
    cost = [e.get("dft_wall_time_s") for e in (reference, candidate)]
    return {"difference_meV": diff, "reference_grid_change_meV": change,
            "within_grid_change": None if change is None else bool(abs(diff) < abs(change)),
            "cost_ratio": cost[0] / cost[1] if all(cost) else None}


def _num(value, fmt: str = "{:.2f}") -> str:
    return "—" if value is None else fmt.format(value)


def _versus(cmp: dict) -> str:
    """The "Δ vs reference" cell: the difference and how it compares with the reference's grid change."""
    text = f"{cmp['difference_meV']:+.2f}"
    if cmp["within_grid_change"] is None:
        return text + " (reference has one grid)"
    word = "within" if cmp["within_grid_change"] else "beyond"
    return text + f" ({word} |Δgrid| = {abs(cmp['reference_grid_change_meV']):.2f})"


def ensemble_table_markdown(ensembles: list[dict]) -> str:
    """Markdown table of ⟨λex⟩ from several ensemble systems; the first is the reference."""
    ref = ensembles[0]
    ds = sorted({d for e in ensembles for d in e["registry_average_by_distance_meV"]}, key=float)
    grids = sorted({int(n) for e in ensembles for n in e.get("stacking_average_by_grid_meV", {})})
    head = ["system", "variants", "DFT wall time (s)", "⟨λex⟩ (meV)"]
    head += [f"⟨λex⟩ {n}×{n} (meV)" for n in grids] + ["grid change (meV)", "method"]
    head += [f"stacking average at {d} Å (meV)" for d in ds] + ["fit decay length (Å)", "Δ vs reference (meV)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in ensembles:
        fit = e.get("fit") or {}
        row = [e["system"], str(e["n_variants"]), f"{e.get('dft_wall_time_s') or float('nan'):.0f}",
               _num(e["lambda_ex_avg_meV"])]
        row += [_num(e.get("lambda_ex_avg_by_grid_meV", {}).get(str(n))) for n in grids]
        row += [_num(e.get("lambda_ex_grid_change_meV"), "{:+.2f}"), e["method"]]
        row += [_num(e["registry_average_by_distance_meV"].get(d)) for d in ds]
        row.append(f"{fit['decay_length_angstrom']:.2f} ± {fit['decay_length_err_angstrom']:.2f}" if fit else "—")
        row.append("reference" if e is ref else _versus(compare_ensembles(ref, e)))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def ensemble_systems_report(ensembles: list[dict]) -> str:
    """``results/convergence/ensemble_systems.md``: the ensembles' ⟨λex⟩ side by side, the first the reference."""
    profiles = sorted({e["profile"] for e in ensembles})
    return ("# ⟨λex⟩ from the heterostructure's own ensemble and from its one-interface bilayer's\n\n"
            f"Profile {', '.join(profiles)}; produced by `snakemake ensemble_systems` (rule extract_ensemble per "
            "system). DFT wall time: the sum of the ensemble's ground-state jobs. ⟨λex⟩ is the stacking average "
            "over the finest grid of lateral shifts; 'grid change' is its change from the next coarser grid. "
            "The first row is the reference; 'within' means the difference is below the reference's grid "
            "change.\n\n" + ensemble_table_markdown(ensembles))


def write_variants_csv(path, variants: list[EnsembleVariant]) -> None:
    """The ensemble's variants as a CSV table (``results/parameters/ensemble/<system>.csv``), atomically;
    the grid weights become one column ``weight_<n>x<n>`` per grid."""
    grids = sorted({int(n) for v in variants for n in (v.get("grid_weights") or {})})
    rows = []
    for v in variants:
        row = {k: x for k, x in v.items() if k != "grid_weights"}
        row.update({f"weight_{n}x{n}": (v.get("grid_weights") or {}).get(str(n)) for n in grids})
        rows.append(row)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
