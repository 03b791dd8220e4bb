"""DFT → model hand-off: dI/dV of the heterostructure with the field B of its ⟨λex⟩.

The exchange field comes from ``results/heterostructures/<name>/parameters.json`` (B in units of
Tc0, :func:`isingflow.extract.heterostructure_parameters`), the spin-filter weight from its WKB
spin filter, and Δ_SOC either from the config or from the monolayer's half splitting at K.
Settings: the ``model.from_dft`` config section, every default filled in from
``workflow/schemas/model.schema.yaml``.  Energies in units of Tc0 (k_B = 1).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from isingflow.extract.units import field_from_exchange, mev_to_tc_units, tesla_to_tc_units
from isingflow.model.gap import order_parameter
from isingflow.model.spectra import conductance, peak_and_fwhm

log = logging.getLogger(__name__)

DIRECTIONS = {"par": 0.0, "perp": math.pi / 2}
"""Field directions of the hand-off: polar angle θ_B from c (B ∥ c, B ⊥ c)."""
CSV_FIELDS = ["direction", "B", "V", "G"]
BIAS_POINTS = 2001


class PeakSummary(TypedDict):
    delta_o: float          # order parameter (Tc0)
    V_peak: float           # coherence-peak bias (Tc0); nan in the normal state
    fwhm: float


class HandoffRecord(TypedDict):
    """``results/model/dft_handoff.json`` (the rule adds ``provenance``)."""

    B_Tc0: float
    B_T: float
    B_convention: str
    lambda_ex_avg_meV: float
    delta_soc_Tc0: float
    delta_soc_source: str
    spin_filter_weight_up: float
    B_parallel_to_magnet: bool
    T: float
    eta: float
    gamma0: float
    results: dict[str, PeakSummary]         # "par", "perp" (B ∥ c, B ⊥ c) and "zero_field" (B = 0)
    superconductivity_bound: SuperconductivityBound


class BoundChoice(TypedDict):
    choice: str             # which λex: one stacking, a stacking average, the fit
    lambda_ex_meV: float
    B_Tc0: float
    superconducts: bool     # Δo(B ∥ c) > 0 at the bound's temperature


class SuperconductivityBound(TypedDict):
    """The experimental bound: the junctions superconduct, so the field along c must stay below
    the largest one at which Δo > 0 (B ∥ c: Ising SOC does not protect, the Pauli limit)."""

    T: float
    B_par_max_Tc0: float
    lambda_ex_max_meV: float
    choices: list[BoundChoice]


@dataclass
class Handoff:
    """:func:`dft_handoff`'s result: the JSON record and the dI/dV rows (direction, B, V, G)."""

    record: HandoffRecord
    rows: list[dict[str, Any]]


def spin_filter_weight_up(het: dict, n_layers: int) -> float:
    """w↑ of the vacuum-aligned WKB spin filter of ``n_layers`` magnet layers, along the exchange field.

    When ⟨λex⟩ < 0 the field points against the magnet's moment and the barrier favours the
    model's minority spin: the weights are swapped.
    """
    w_up = next(r["weight_up"] for r in het["spin_filter_vacuum_aligned"] if str(r["n_layers"]) == str(n_layers))
    if not het["B_equiv_parallel_to_magnet"]:
        w_up = 1.0 - w_up
        log.info("⟨λex⟩ < 0: field antiparallel to the magnet; spin-filter weights swapped (w+ = %.3f)", w_up)
    return w_up


def largest_superconducting_field(T: float, delta_soc: float, eta: float, b_max: float = 10.0,
                                  tol: float = 1e-4) -> float:
    """The largest B ∥ c (Tc0 units) with Δo > 0 at temperature ``T``: bisection on Δo(B) > 0.

    Along c the Ising SOC does not protect (Pauli limit).  This is the end of the superconducting
    solution of the gap equation (≈ Δ0 = 1.76 Tc0 as T → 0), above the first-order transition
    (Clogston's Δ0/√2 ≈ 1.25 Tc0): a field beyond it cannot superconduct at all, so the bound it
    gives is a lenient one.
    """
    lo, hi = 0.0, b_max
    if order_parameter(T, hi, theta_B=0.0, delta_soc=delta_soc, eta=eta) > 0:
        return math.inf
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if order_parameter(T, mid, theta_B=0.0, delta_soc=delta_soc, eta=eta) > 0 else (lo, mid)
    return lo


def _lambda_choices(het: dict) -> dict[str, float]:
    """The averaging choices of λex: one stacking, the ⟨λex⟩ handed off, every grid, the fit."""
    ens = het.get("ensemble") or {}
    out = {"one stacking (the heterostructure's own λex)": het["lambda_ex_meV"],
           f"⟨λex⟩ handed off ({ens.get('method', 'ensemble')})": het["lambda_ex_avg_meV"]}
    for n, value in (ens.get("lambda_ex_avg_by_grid_meV") or {}).items():
        out[f"stacking average, {n}×{n} grid"] = value
    if ens.get("fit"):
        out[f"λex(d) fit at {ens['fit']['d_eval_angstrom']:g} Å"] = ens["fit"]["value_meV"]
    return out


def superconductivity_bound(het: dict, T: float, delta_soc: float, eta: float) -> SuperconductivityBound:
    """Whether the field of each averaging choice of λex lets NbSe2 superconduct for B ∥ c at ``T``.

    The field of a λex is converted as the parameters file converts ⟨λex⟩ (its convention, its Tc);
    the bound is :func:`largest_superconducting_field`, also as the largest λex it allows.
    """
    convention = "half" if het["B_equiv_T"] == het["B_equiv_half_convention_T"] else "full"

    def to_tc0(lam_meV: float) -> float:
        return tesla_to_tc_units(field_from_exchange(abs(lam_meV), convention), het["Tc_K"])

    b_max = largest_superconducting_field(T, delta_soc, eta)
    choices = [BoundChoice(choice=name, lambda_ex_meV=float(lam), B_Tc0=to_tc0(lam), superconducts=to_tc0(lam) < b_max)
               for name, lam in _lambda_choices(het).items()]
    for c in choices:
        log.info("%s: λex = %.4g meV, B = %.4g Tc0: %s (B∥c max %.4g Tc0 at T = %g)", c["choice"], c["lambda_ex_meV"],
                 c["B_Tc0"], "superconducts" if c["superconducts"] else "normal", b_max, T)
    return SuperconductivityBound(T=T, B_par_max_Tc0=b_max, lambda_ex_max_meV=b_max / to_tc0(1.0), choices=choices)


def _direction(V: np.ndarray, B: float, theta: float, delta_soc: float, w_up: float, s: dict) -> tuple:
    """Δo, G(V) and the coherence peak for one field direction."""
    d_o = order_parameter(s["T"], B, theta_B=theta, delta_soc=delta_soc, eta=s["eta"])
    G = conductance(V, s["T"], B, theta_B=theta, delta_soc=delta_soc, eta=s["eta"], gamma0=s["gamma0"],
                    spin_filter=(w_up, 1 - w_up), delta=d_o)
    if d_o > 0:
        vp, fwhm = peak_and_fwhm(V, G, d_o)
    else:  # the field destroys superconductivity: no coherence peak to report
        vp, fwhm = float("nan"), float("nan")
    return d_o, G, vp, fwhm


def dft_handoff(het: dict, monolayer: dict, settings: dict[str, Any]) -> Handoff:
    """dI/dV for B ∥ c and B ⊥ c with the DFT field; ``het``/``monolayer``: the parameter JSONs."""
    s = settings
    B = float(het["B_equiv_Tc_units"])
    use_dft = bool(s["use_dft_delta_soc"])
    delta_soc = mev_to_tc_units(monolayer["delta_soc_half_K_meV"], het["Tc_K"]) if use_dft else s["delta_soc"]
    w_up = spin_filter_weight_up(het, s["spin_filter_layers"])
    V = np.linspace(0.0, s["v_max"], BIAS_POINTS)
    rows, summary = [], {}
    d_o, _G, vp, fwhm = _direction(V, 0.0, 0.0, delta_soc, w_up, s)
    summary["zero_field"] = PeakSummary(delta_o=d_o, V_peak=vp, fwhm=fwhm)
    for name, theta in DIRECTIONS.items():
        d_o, G, vp, fwhm = _direction(V, B, theta, delta_soc, w_up, s)
        if d_o <= 0:
            log.warning("%s: Δo = 0 at B = %.4g Tc0 (normal state); no coherence peak", name, B)
        summary[name] = PeakSummary(delta_o=d_o, V_peak=vp, fwhm=fwhm)
        rows += [{"direction": name, "B": B, "V": float(v), "G": float(g)} for v, g in zip(V, G)]
        log.info("%s: Δo = %.6f, V_p = %.5f, FWHM = %.5f (B = %.4g Tc0)", name, d_o, vp, fwhm, B)
    record = HandoffRecord(
        B_Tc0=B, B_T=het["B_equiv_T"], B_convention=het["B_equiv_convention"],
        lambda_ex_avg_meV=het["lambda_ex_avg_meV"], delta_soc_Tc0=delta_soc,
        delta_soc_source="DFT (monolayer, half splitting at K)" if use_dft else "config",
        spin_filter_weight_up=w_up, B_parallel_to_magnet=het["B_equiv_parallel_to_magnet"],
        T=s["T"], eta=s["eta"], gamma0=s["gamma0"], results=summary,
        superconductivity_bound=superconductivity_bound(het, s["bound_T"], delta_soc, s["eta"]))
    return Handoff(record=record, rows=rows)
