"""From normalised band files to the few numbers the model needs (ΔSOC, λex, t⊥, ...).

Every function reads :class:`isingflow.dft.BandStructure` objects and returns plain numbers
or arrays with units in their names.  Conventions follow ``shared/physics_model.md`` §6:

* the *full* Ising splitting of a band is ``ε(⟨σz⟩<0) − ε(⟨σz⟩>0)`` (meV here);
* the model's ``Δ_SOC`` is half of it (``H = Δ_SOC σz``), reported as ``delta_soc_half_*``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isingflow.dft.bandfile import BandStructure


class PhysicsGateError(RuntimeError):
    """An input makes no physical sense: the pipeline stops instead of producing a number."""


def fermi_crossing_bands(bands: BandStructure, spin: int = 0) -> list[int]:
    """Indices of the bands that cross the Fermi level along the k-points of ``bands``."""
    e = bands.eigenvalues[spin] - bands.fermi_level
    return [n for n in range(bands.nbands) if e[:, n].min() < 0.0 < e[:, n].max()]


def segment_indices(bands: BandStructure, start: str, end: str) -> np.ndarray:
    """k indices of the straight path segment between two consecutive labels, in path order."""
    labels = bands.path_labels
    for (i0, l0), (i1, l1) in zip(labels[:-1], labels[1:]):
        if {l0, l1} == {start, end}:
            idx = np.arange(i0, i1 + 1)
            return idx if l0 == start else idx[::-1]
    raise ValueError(f"{bands.source}: no path segment {start}–{end} (labels {labels})")


@dataclass
class IsingSplitting:
    """Ising spin splitting of one band along a path segment."""

    k_distance_inv_angstrom: np.ndarray   # distance from the segment's start point
    splitting_meV: np.ndarray             # ε(σz<0) − ε(σz>0), signed
    energy_meV: np.ndarray                # pair centre relative to E_F
    sz: np.ndarray                        # ⟨σz⟩ of the lower and upper state, [k, 2]
    band_index_nosoc: int


def ising_splitting(bands_soc: BandStructure, bands_nosoc: BandStructure, start: str = "G",
                    end: str = "K", band: int | None = None) -> IsingSplitting:
    """Ising splitting of the (non-SOC) band ``band`` along the ``start``–``end`` segment.

    Without ``band``, the band that crosses E_F in the non-SOC calculation is taken (the Nb-d
    band of NbSe2).  Each non-SOC band ``n`` becomes the SOC pair ``(2n, 2n+1)`` when states
    are sorted by energy; the pairing is checked against the non-SOC band gaps.
    """
    if not bands_soc.soc or bands_soc.spin_expectation is None:
        raise ValueError(f"{bands_soc.source}: not a spin–orbit band structure with spin expectations")
    if bands_nosoc.spin_polarized:
        raise ValueError(f"{bands_nosoc.source}: Ising splitting needs a non-magnetic reference")
    if bands_soc.nkpts != bands_nosoc.nkpts or not np.allclose(bands_soc.kpoints, bands_nosoc.kpoints):
        raise ValueError("SOC and non-SOC band structures are on different k-points")
    if band is None:
        crossing = fermi_crossing_bands(bands_nosoc)
        if not crossing:
            raise PhysicsGateError(f"{bands_nosoc.source}: no band crosses the Fermi level "
                                   "(expected the metallic Nb-d band of NbSe2)")
        band = crossing[0] if len(crossing) == 1 else _band_nearest_ef(bands_nosoc, crossing)
    idx = segment_indices(bands_soc, start, end)
    e = bands_soc.eigenvalues[0][idx]
    sz = bands_soc.spin_expectation[idx, :, 2]
    lo, hi = 2 * band, 2 * band + 1
    e_lo, e_hi = e[:, lo], e[:, hi]
    sz_pair = np.stack([sz[:, lo], sz[:, hi]], axis=1)
    # sign convention: ε(σz<0) − ε(σz>0); where ⟨σz⟩ vanishes (Γ–M) the splitting is |Δε| · 0
    sign = np.where(sz_pair[:, 0] > sz_pair[:, 1], 1.0, -1.0)
    split = sign * (e_hi - e_lo)
    kc = bands_soc.kpoints_cartesian()[idx]
    dist = np.linalg.norm(kc - kc[0], axis=1)
    return IsingSplitting(k_distance_inv_angstrom=dist, splitting_meV=1000 * split,
                          energy_meV=1000 * (0.5 * (e_lo + e_hi) - bands_soc.fermi_level),
                          sz=sz_pair, band_index_nosoc=int(band))


def _band_nearest_ef(bands: BandStructure, candidates: list[int]) -> int:
    e = np.abs(bands.eigenvalues[0] - bands.fermi_level)
    return min(candidates, key=lambda n: np.sort(e[:, n])[: max(3, bands.nkpts // 10)].mean())


def fermi_crossings(dist: np.ndarray, energy_meV: np.ndarray, values: np.ndarray) -> list[dict]:
    """Linear interpolation of ``values`` where ``energy_meV`` changes sign along ``dist``."""
    out = []
    for i in range(len(dist) - 1):
        e0, e1 = energy_meV[i], energy_meV[i + 1]
        if e0 == 0 or e0 * e1 < 0:
            f = 0.0 if e0 == e1 else e0 / (e0 - e1)
            out.append({"k_distance_inv_angstrom": float(dist[i] + f * (dist[i + 1] - dist[i])),
                        "value": float(values[i] + f * (values[i + 1] - values[i]))})
    return out


def monolayer_soc_parameters(bands_soc: BandStructure, bands_nosoc: BandStructure) -> dict:
    """ΔSOC of the Nb-d band of a monolayer: at K, and on its Fermi crossings along Γ–K.

    Returns a dict with units in the key names (meV, 1/Å).  The physics gate: the full
    splitting at K of 1H-NbSe2 must be between 20 and 400 meV (literature ≈ 150 meV).
    """
    res = ising_splitting(bands_soc, bands_nosoc, start="G", end="K")
    full_K = float(abs(res.splitting_meV[-1]))
    crossings = fermi_crossings(res.k_distance_inv_angstrom, res.energy_meV, np.abs(res.splitting_meV))
    if not 20.0 < full_K < 400.0:
        raise PhysicsGateError(f"Ising splitting at K is {full_K:.1f} meV: outside 20–400 meV, "
                               "check the SOC calculation (literature ≈ 150 meV for NbSe2)")
    return {
        "ising_splitting_full_K_meV": full_K,
        "delta_soc_half_K_meV": full_K / 2,
        "band_energy_at_K_minus_EF_meV": float(res.energy_meV[-1]),
        "fermi_crossings_G_to_K": [
            {"k_distance_from_G_inv_angstrom": c["k_distance_inv_angstrom"],
             "ising_splitting_full_meV": c["value"]} for c in crossings],
        "max_ising_splitting_full_G_to_K_meV": float(np.max(np.abs(res.splitting_meV))),
        "band_index_nosoc": res.band_index_nosoc,
        "fermi_level_soc_eV": float(bands_soc.fermi_level),
        "fermi_level_nosoc_eV": float(bands_nosoc.fermi_level),
    }


# ---------------------------------------------------------------------------------------------
# Exchange splitting λex of the superconductor's bands in a magnetic heterostructure
# ---------------------------------------------------------------------------------------------
MU_B_MEV_PER_T = 0.057883818060  # Bohr magneton, meV/T


def _layer_weight(bands: BandStructure, layers: list[int]) -> np.ndarray:
    """Weight of every state on the given layers, ``[spin, k, band]``."""
    lp = bands.layer_projections()
    return lp[..., list(layers)].sum(axis=-1)


@dataclass
class ExchangeSplitting:
    """λex = ε↓ − ε↑ of the states of the chosen layers near E_F (meV)."""

    average_meV: float            # Fermi-window-weighted average over all k
    at_label_meV: dict            # label -> value at that k (pair nearest E_F), e.g. {"G": .., "K": ..}
    per_k_meV: np.ndarray         # weighted average at each k (nan where no pair)
    pairs: int                    # number of (↑, ↓) pairs used


def exchange_splitting(bands: BandStructure, layers: list[int], min_layer_weight: float = 0.5,
                       window_eV: float = 1.0, fermi_broadening_eV: float = 0.1,
                       max_shift_eV: float = 0.4) -> ExchangeSplitting:
    """Exchange splitting of the bands of ``layers`` (e.g. the NbSe2 layers) near E_F.

    For every k, the states with weight > ``min_layer_weight`` on ``layers`` within ``window_eV`` of
    E_F are paired between the two spin channels by the assignment that minimises the total
    |ε↓ − ε↑| (Hungarian algorithm; pairs further apart than ``max_shift_eV`` are dropped, e.g. a
    state whose partner hybridised with the magnet), and λex = ε↓ − ε↑ for each pair.  The average over the Fermi-level
    states weights each pair by −∂f/∂E at its mean energy (Fermi–Dirac width
    ``fermi_broadening_eV``), i.e. by how much it sits at the Fermi level.
    """
    if not bands.spin_polarized or bands.soc:
        raise ValueError(f"{bands.source}: λex needs a collinear spin-polarised band structure")
    w = _layer_weight(bands, layers)
    e = bands.eigenvalues - bands.fermi_level
    kweight = bands.weights if bands.weights is not None else np.ones(bands.nkpts)
    per_k = np.full(bands.nkpts, np.nan)
    num = den = 0.0
    pairs = 0
    nearest: dict[int, float] = {}
    from scipy.optimize import linear_sum_assignment

    for k in range(bands.nkpts):
        sel = [np.sort(e[s, k][(w[s, k] > min_layer_weight) & (np.abs(e[s, k]) < window_eV)]) for s in (0, 1)]
        if len(sel[0]) == 0 or len(sel[1]) == 0:
            continue
        # pair ↑ and ↓ states by the assignment with the smallest total |ε↓ − ε↑| (states whose
        # partner hybridised with the magnet's bands stay unpaired), keeping pairs < max_shift_eV
        cost = np.abs(sel[1][None, :] - sel[0][:, None])
        rows, cols = linear_sum_assignment(cost)
        keep = cost[rows, cols] < max_shift_eV
        if not keep.any():
            continue
        up, down = sel[0][rows[keep]], sel[1][cols[keep]]
        lam = down - up
        mid = 0.5 * (up + down)
        x = mid / fermi_broadening_eV
        g = 1.0 / (4 * fermi_broadening_eV * np.cosh(np.clip(x, -300, 300) / 2) ** 2)
        if g.sum() > 0:
            per_k[k] = float((g * lam).sum() / g.sum())
        g = g * kweight[k]
        num += float((g * lam).sum())
        den += float(g.sum())
        pairs += len(lam)
        nearest[k] = float(lam[np.argmin(np.abs(mid))])
    if den == 0:
        raise PhysicsGateError(f"{bands.source}: no states of layers {layers} near the Fermi level")
    at_label = {}
    for idx, lab in bands.path_labels:
        if idx in nearest:
            at_label[lab] = 1000 * nearest[idx]
    return ExchangeSplitting(average_meV=1000 * num / den, at_label_meV=at_label, per_k_meV=1000 * per_k,
                             pairs=pairs)


def field_from_exchange(lambda_ex_meV: float, convention: str = "half") -> float:
    """Equivalent magnetic field in tesla: ``half``: µB·B = λex/2 (the paper's stated convention);
    ``full``: µB·B = λex (what the paper's quoted 0.7 T for 0.04 meV implies)."""
    if convention == "half":
        return lambda_ex_meV / 2 / MU_B_MEV_PER_T
    if convention == "full":
        return lambda_ex_meV / MU_B_MEV_PER_T
    raise ValueError(f"convention must be 'half' or 'full', got {convention!r}")


def tesla_to_tc_units(B_T: float, tc_K: float) -> float:
    """Zeeman energy µB·B in units of k_B·Tc."""
    k_B_meV_per_K = 0.08617333262
    return B_T * MU_B_MEV_PER_T / (k_B_meV_per_K * tc_K)


def fit_exponential_decay(d_angstrom, lambda_meV, d_eval_angstrom: float, weights=None) -> dict:
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
    return {"A_meV": float(np.exp(coef[0])), "decay_length_angstrom": float(-1 / slope),
            "decay_length_err_angstrom": float(np.sqrt(cov[1, 1]) / slope ** 2),
            "value_meV": val, "value_err_meV": val * log_err, "n_points": int(len(d)),
            "d_eval_angstrom": float(d_eval_angstrom), "log_residual_rms": float(np.sqrt(np.mean(resid ** 2)))}


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


def ensemble_average(rows: list[dict], d_eval_angstrom: float) -> dict:
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
    out = {"registry_average_by_distance_meV": {f"{d:g}": v for d, v in by_d.items()},
           "registry_sem_by_distance_meV": {f"{d:g}": v for d, v in sem_d.items()},
           "n_variants": len(rows), "d_eval_angstrom": float(d_eval_angstrom), "fit": None}
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


# ---------------------------------------------------------------------------------------------
# Band alignment and spin filtering
# ---------------------------------------------------------------------------------------------
HBAR2_OVER_2ME_EV_A2 = 3.80998212  # ħ²/2m_e in eV·Å²


def band_edges(bands: BandStructure, label: str | None = None) -> dict:
    """Valence-band maximum and conduction-band minimum per spin of an insulator (eV, absolute).

    ``label`` restricts to one k-point of the path (e.g. ``"K"``); otherwise the whole path.
    """
    e = bands.eigenvalues
    out = {}
    ks = [i for i, lab in bands.path_labels if lab == label] if label else list(range(bands.nkpts))
    if not ks:
        raise ValueError(f"{bands.source}: no k-point labelled {label!r}")
    names = ("up", "down") if bands.nspins == 2 else ("both",)
    for s, name in enumerate(names):
        occ = e[s][ks] <= bands.fermi_level
        vbm = float(np.max(np.where(occ, e[s][ks], -np.inf)))
        cbm = float(np.min(np.where(~occ, e[s][ks], np.inf)))
        out[name] = {"vbm_eV": vbm, "cbm_eV": cbm, "gap_eV": cbm - vbm}
    return out


def wkb_transmission(barrier_eV: float, thickness_angstrom: float, m_eff: float = 1.0) -> float:
    """WKB tunnelling probability exp(−2κd), κ = √(2 m* φ)/ħ, through a square barrier."""
    if barrier_eV <= 0:
        return 1.0
    kappa = np.sqrt(m_eff * barrier_eV / HBAR2_OVER_2ME_EV_A2)  # 1/Å
    return float(np.exp(-2 * kappa * thickness_angstrom))


def spin_filter(barrier_up_eV: float, barrier_down_eV: float, layer_thickness_angstrom: float,
                n_layers=(1, 2, 3), m_eff: float = 1.0) -> list[dict]:
    """Transmission ratio T↑/T↓ and spin polarisation P = (T↑−T↓)/(T↑+T↓) for n barrier layers."""
    out = []
    for n in n_layers:
        d = n * layer_thickness_angstrom
        tu, td = wkb_transmission(barrier_up_eV, d, m_eff), wkb_transmission(barrier_down_eV, d, m_eff)
        out.append({"n_layers": int(n), "thickness_angstrom": d, "T_up_over_T_down": tu / td,
                    "spin_polarization": (tu - td) / (tu + td), "weight_up": tu / (tu + td)})
    return out


# ---------------------------------------------------------------------------------------------
# Interlayer hopping t⊥(k) from unfolded bands
# ---------------------------------------------------------------------------------------------
def interlayer_hopping(bands: BandStructure, band_index_primitive: int, start: str, end: str,
                       spin: int = 0, min_weight: float = 0.5, delta_soc_meV: np.ndarray | None = None) -> dict:
    """t⊥(k) = half the bonding–antibonding splitting of the two layers' copies of one band.

    ``bands`` is an unfolded (``unfold_weights``) band structure of two identical layers (plus
    possibly a spacer that is projected out); ``band_index_primitive`` is the index of the band
    in the primitive single layer (e.g. the Nb-d band crossing E_F).  At every primitive k the
    states are sorted by energy and counted by their cumulative unfold weight; the pair is the
    states (with weight > ``min_weight``) in the slots 2n and 2n+1 (two layers' copies of band n).  If
    ``delta_soc_meV`` (full Ising splitting along the same k-points) is given, the splitting is
    corrected as t⊥ = √((E_split/2)² − Δ_SOC²) for layers with opposite Ising SOC.
    """
    if bands.unfold_weights is None:
        raise ValueError(f"{bands.source}: t⊥(k) needs an unfolded band structure")
    idx = segment_indices(bands, start, end)
    W = bands.unfold_weights[spin]
    e = bands.eigenvalues[spin]
    n = band_index_primitive
    t_perp = np.full(len(idx), np.nan)
    energy = np.full(len(idx), np.nan)
    for j, k in enumerate(idx):
        order = np.argsort(e[k])
        ek, wk = e[k][order], W[k][order]
        # the unfolded "slot" of each state: its position in the cumulative spectral weight, so
        # that a primitive state shared between degenerate folded partners (weights 1/2, 1/3, …)
        # still counts once
        slot = np.floor(np.cumsum(wk) - wk / 2 + 1e-9).astype(int)
        pair = [ek[(slot == m) & (wk > min_weight)] for m in (2 * n, 2 * n + 1)]
        if len(pair[0]) != 1 or len(pair[1]) != 1:
            continue
        lo, hi = pair[0][0], pair[1][0]
        half = 0.5 * (hi - lo) * 1000
        if delta_soc_meV is not None:
            half = np.sqrt(max(half ** 2 - (0.5 * delta_soc_meV[j]) ** 2, 0.0))
        t_perp[j] = half
        energy[j] = 1000 * (0.5 * (lo + hi) - bands.fermi_level)
    kp = bands.kpoints_primitive[idx] @ (2 * np.pi * np.linalg.inv(bands.primitive_cell).T)
    dist = np.linalg.norm(kp - kp[0], axis=1)
    return {"k_distance_inv_angstrom": dist, "t_perp_meV": t_perp, "pair_energy_meV": energy}


# ---------------------------------------------------------------------------------------------
# Heterostructure summary: everything the trilayer, the monolayers and the bilayer give
# ---------------------------------------------------------------------------------------------
def layer_moments(magmoms_muB, symbols, atom_layers, element: str, layers: list[int]) -> list[float]:
    """Local moments (µB) of the atoms of ``element`` in ``layers``."""
    return [float(m) for m, s, lay in zip(magmoms_muB, symbols, atom_layers) if s == element and lay in layers]


def lowest_state_above_ef(bands: BandStructure, layers: list[int], spin: int, min_weight: float = 0.5) -> float:
    """Energy (eV, relative to E_F) of the lowest empty state with weight > ``min_weight`` on ``layers``."""
    w = _layer_weight(bands, layers)[spin]
    e = bands.eigenvalues[spin] - bands.fermi_level
    sel = (w > min_weight) & (e > 0)
    if not sel.any():
        raise PhysicsGateError(f"{bands.source}: no empty state on layers {layers} in spin {spin}")
    return float(e[sel].min())


def hotspot_correlation(t_perp_meV: np.ndarray, delta_soc_meV: np.ndarray) -> float:
    """Pearson correlation of |t⊥(k)|² and |ΔSOC(k)| over the k-points where both are known."""
    a = np.asarray(t_perp_meV, dtype=float) ** 2
    b = np.abs(np.asarray(delta_soc_meV, dtype=float))
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        raise PhysicsGateError("t⊥/ΔSOC correlation: fewer than 3 common k-points")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])
