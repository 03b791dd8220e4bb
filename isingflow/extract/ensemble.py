"""The stacking ensemble: λex of every lateral shift × distance variant, ⟨λex⟩ with its error, the λex(d) fit.

Definitions: ``docs/extraction.md`` (section "Stacking average ⟨λex⟩") and ``docs/ensemble.md``
(which system the ensemble is computed for, and what it costs).
"""
from __future__ import annotations

import csv
import logging
from typing import Any, Iterable, TypedDict

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
    registry: list[float] | None       # fractional lateral shift
    weight: float                      # symmetry weight of the shift
    lambda_ex_meV: float
    scf_iterations: int
    wall_time_s: float | None


class Ensemble(TypedDict, total=False):
    """⟨λex⟩ of an ensemble (``results/parameters/ensemble/<system>.json``, without provenance)."""

    registry_average_by_distance_meV: dict[str, float]
    registry_sem_by_distance_meV: dict[str, float]
    n_variants: int
    d_eval_angstrom: float
    fit: ExponentialFit | None
    lambda_ex_avg_meV: float
    lambda_ex_avg_err_meV: float
    method: str
    system: str
    profile: str
    superconductor_layers: list[int]
    variants: list[EnsembleVariant]
    dft_wall_time_s: float


def fit_exponential_decay(d_angstrom, lambda_meV, d_eval_angstrom: float, weights=None) -> ExponentialFit:
    """Fit |λ(d)| = A·exp(−d/ℓ) by (weighted) least squares on log|λ|; evaluate at ``d_eval_angstrom``.

    Every point may be one registry at one distance (``weights``: the registries' weights), so
    that the scatter between registries enters the uncertainty.  Returns A (meV), ℓ (Å) with its
    1σ error, the value at ``d_eval`` with a 1σ uncertainty from the fit covariance (residual
    variance with n − 2 degrees of freedom, propagated in log space; zero for an exact two-point
    fit), and the residual scatter.  A fit that does not decay (ℓ ≤ 0) raises
    :class:`PhysicsGateError`.
    """
    d = np.asarray(d_angstrom, dtype=float)
    lam = np.abs(np.asarray(lambda_meV, dtype=float))
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    if len(np.unique(d)) < 2:
        raise PhysicsGateError("λex(d) fit needs at least two distinct distances")
    if np.any(lam <= 0):
        raise PhysicsGateError("λex(d) fit: a zero exchange splitting cannot be fitted in log space")
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
    return ExponentialFit(A_meV=float(np.exp(coef[0])), decay_length_angstrom=float(-1 / slope),
                          decay_length_err_angstrom=float(np.sqrt(cov[1, 1]) / slope ** 2),
                          value_meV=val, value_err_meV=val * log_err, n_points=int(len(d)),
                          d_eval_angstrom=float(d_eval_angstrom),
                          log_residual_rms=float(np.sqrt(np.mean(resid ** 2))))


def weighted_mean_sem(values, weights=None) -> tuple[float, float]:
    """Weighted mean and its standard error (effective sample size (Σw)²/Σw²; nan for one value)."""
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    mean = float(np.sum(w * x) / w.sum())
    n_eff = w.sum() ** 2 / np.sum(w ** 2)
    if len(x) < 2 or n_eff <= 1:
        return mean, float("nan")
    var = float(np.sum(w * (x - mean) ** 2) / w.sum()) * n_eff / (n_eff - 1)
    return mean, float(np.sqrt(var / n_eff))


def ensemble_average(rows: list[dict], d_eval_angstrom: float) -> Ensemble:
    """⟨λex⟩ of a registry × distance ensemble.

    ``rows``: one dict per variant with ``d_angstrom``, ``weight`` (the registry's weight) and
    ``lambda_ex_meV``.  The registry average and its standard error are given at every distance;
    with two or more distances an exponential is fitted to all points.  ⟨λex⟩ is the registry
    average at ``d_eval_angstrom`` when that distance was computed (uncertainty: the standard
    error over registries), otherwise the fit's value there (uncertainty: the fit's).
    """
    ds = sorted({float(r["d_angstrom"]) for r in rows})
    by_d, sem_d = {}, {}
    for d in ds:
        sel = [r for r in rows if float(r["d_angstrom"]) == d]
        by_d[d], sem_d[d] = weighted_mean_sem([r["lambda_ex_meV"] for r in sel], [r["weight"] for r in sel])
    out = Ensemble(registry_average_by_distance_meV={f"{d:g}": v for d, v in by_d.items()},
                   registry_sem_by_distance_meV={f"{d:g}": v for d, v in sem_d.items()},
                   n_variants=len(rows), d_eval_angstrom=float(d_eval_angstrom), fit=None)
    if len(ds) >= 2:
        out["fit"] = fit_exponential_decay([r["d_angstrom"] for r in rows], [r["lambda_ex_meV"] for r in rows],
                                           d_eval_angstrom, weights=[r["weight"] for r in rows])
    hit = [d for d in ds if abs(d - d_eval_angstrom) < 1e-3]
    if hit:
        out["lambda_ex_avg_meV"], out["lambda_ex_avg_err_meV"] = by_d[hit[0]], sem_d[hit[0]]
        out["method"] = f"registry average at d = {hit[0]:g} Å (error: standard error over registries)"
    elif out["fit"] is not None:
        out["lambda_ex_avg_meV"], out["lambda_ex_avg_err_meV"] = out["fit"]["value_meV"], out["fit"]["value_err_meV"]
        out["method"] = f"exponential fit evaluated at d = {d_eval_angstrom:g} Å"
    else:
        out["lambda_ex_avg_meV"], out["lambda_ex_avg_err_meV"] = by_d[ds[-1]], sem_d[ds[-1]]
        out["method"] = f"registry average at the only distance d = {ds[-1]:g} Å (not at d_eval)"
    return out


def ensemble_variant(name: str, manifest_variant: dict, mesh: BandStructure, gs: dict, layers: list[int],
                     lambda_ex: dict[str, Any]) -> EnsembleVariant:
    """λex of one variant (its SCF-mesh bands) with its distance and lateral shift from the structure manifest."""
    registry = manifest_variant.get("registry", {})
    return EnsembleVariant(variant=name, d_angstrom=float(manifest_variant["distances_angstrom"][0]),
                           registry=registry.get("frac"), weight=float(registry.get("weight", 1.0)),
                           lambda_ex_meV=exchange_splitting(mesh, layers, **lambda_ex).average_meV,
                           scf_iterations=gs["scf_iterations"], wall_time_s=gs.get("wall_time_s"))


def stacking_ensemble(variants: Iterable[tuple[str, BandStructure, dict]], manifest: dict, layers: list[int],
                      lambda_ex: dict[str, Any], d_eval_angstrom: float, system: str, profile: str) -> Ensemble:
    """⟨λex⟩ of the variants ``(name, SCF-mesh bands, gs.json summary)`` of the stack ``system``.

    ``manifest`` is the stack's structure manifest (distances and lateral shifts per variant);
    ``layers`` are the superconductor's layers.  Returns :func:`ensemble_average` with the rows
    (``variants``), the superconductor layers and the summed SCF wall time.
    """
    rows = []
    for name, mesh, gs in variants:
        rows.append(ensemble_variant(name, manifest["variants"][name], mesh, gs, layers, lambda_ex))
        log.info("%s: λex = %.3f meV", name, rows[-1]["lambda_ex_meV"])
    ens = ensemble_average(rows, d_eval_angstrom)
    if [r["variant"] for r in rows] == ["base"]:
        ens["method"] = "no registry ensemble in this profile: λex of the base variant only"
    ens.update(system=system, profile=profile, superconductor_layers=layers, variants=rows,
               dft_wall_time_s=sum(r["wall_time_s"] or 0.0 for r in rows))
    log.info("⟨λex⟩ = %.3f ± %.3f meV (%s)", ens["lambda_ex_avg_meV"], ens["lambda_ex_avg_err_meV"], ens["method"])
    return ens


def compare_ensembles(reference: dict, candidate: dict) -> dict:
    """How far ``candidate``'s ⟨λex⟩ (e.g. from the one-interface bilayer) lies from ``reference``'s
    (the heterostructure's own ensemble), against the uncertainty that ⟨λex⟩ is reported with.

    Both are :func:`ensemble_average` outputs.  ``within_uncertainty`` is true when the difference
    is below the reference's stated error (the standard error over registries).
    """
    diff = candidate["lambda_ex_avg_meV"] - reference["lambda_ex_avg_meV"]
    err = reference["lambda_ex_avg_err_meV"]
    err = float("nan") if err is None else err
    cost = [e.get("dft_wall_time_s") for e in (reference, candidate)]
    return {"difference_meV": diff, "reference_err_meV": err,
            "within_uncertainty": bool(np.isfinite(err) and abs(diff) < err),
            "cost_ratio": cost[0] / cost[1] if all(cost) else None}


def _pm(value, err) -> str:
    """``value ± err`` (2 decimals); a missing error (one registry, JSON null) is shown as n/a."""
    if value is None:
        return "—"
    return f"{value:.2f} ± {err:.2f}" if err is not None and np.isfinite(err) else f"{value:.2f} ± n/a"


def ensemble_table_markdown(ensembles: list[dict]) -> str:
    """Markdown table of ⟨λex⟩ from several ensemble systems; the first is the reference."""
    ref = ensembles[0]
    ds = sorted({d for e in ensembles for d in e["registry_average_by_distance_meV"]}, key=float)
    head = ["system", "variants", "DFT wall time (s)", "⟨λex⟩ (meV)", "method"]
    head += [f"registry mean at {d} Å (meV)" for d in ds] + ["fit decay length (Å)", "Δ vs reference (meV)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in ensembles:
        fit = e.get("fit") or {}
        cmp = compare_ensembles(ref, e)
        row = [e["system"], str(e["n_variants"]), f"{e.get('dft_wall_time_s') or float('nan'):.0f}",
               _pm(e["lambda_ex_avg_meV"], e["lambda_ex_avg_err_meV"]), e["method"]]
        for d in ds:
            row.append(_pm(e["registry_average_by_distance_meV"].get(d), e["registry_sem_by_distance_meV"].get(d)))
        row.append(_pm(fit.get("decay_length_angstrom"), fit.get("decay_length_err_angstrom")))
        row.append("reference" if e is ref else f"{cmp['difference_meV']:+.2f} "
                   f"({'within' if cmp['within_uncertainty'] else 'not within'} ±{cmp['reference_err_meV']:.2f})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def ensemble_systems_report(ensembles: list[dict]) -> str:
    """``results/convergence/ensemble_systems.md``: the ensembles' ⟨λex⟩ side by side, the first the reference."""
    profiles = sorted({e["profile"] for e in ensembles})
    return ("# ⟨λex⟩ from the heterostructure's ensemble and from extract.ensemble.system\n\n"
            f"Profile {', '.join(profiles)}; produced by `snakemake ensemble_systems` (rule extract_ensemble per "
            "system). DFT wall time: the sum of the ensemble's ground-state jobs. The first row is the reference; "
            "'within' means the difference is below the reference's standard error over registries.\n\n"
            + ensemble_table_markdown(ensembles))


def write_variants_csv(path, variants: list[EnsembleVariant]) -> None:
    """The ensemble's variants as a CSV table (``results/parameters/ensemble/<system>.csv``), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(variants[0]))
        wr.writeheader()
        wr.writerows(variants)
