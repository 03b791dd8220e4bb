"""Defect-moment flop estimate for the hysteresis onset (``docs/model.md#hysteresis-estimate``).

The moment of a defect "puddle" of radius R_d flops in plane when the puddle pairing energy
E_pud(T) = c N(0) Δ(T)² R_d² exceeds the anisotropy energy K:

    Δ(T_flop)/Δ(0) = √(K / E_pud(0)),   then invert the BCS Δ(t)/Δ(0).

N(0) is the total DOS per area (both spins).  An order-of-magnitude argument only.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import constants, optimize

from isingflow.model.frequencies import bcs_gap

#: Boltzmann constant in meV/K (exact in the SI since 2019)
KB_MEV_PER_K = constants.k / constants.e * 1e3
#: weak-coupling BCS Δ(0)/(k_B Tc) = π e^{−γ_E}
BCS_RATIO = math.pi * math.exp(-np.euler_gamma)


def area_per_formula_unit(a_angstrom: float) -> float:
    """Area of the hexagonal cell (√3/2) a² in Å²."""
    return math.sqrt(3.0) / 2.0 * a_angstrom ** 2


def puddle_energy_zero_T(Tc_K: float, dos_states_per_eV_fu: float, a_angstrom: float,
                         R_d_angstrom: float, c: float = 1.0) -> float:
    """E_pud(0) = c N(0) Δ(0)² R_d² in µeV, with Δ(0) = π e^{−γ} k_B Tc."""
    n0 = dos_states_per_eV_fu / area_per_formula_unit(a_angstrom)  # states / (eV Å²)
    delta0_eV = BCS_RATIO * KB_MEV_PER_K * Tc_K * 1e-3
    return c * n0 * delta0_eV ** 2 * R_d_angstrom ** 2 * 1e6


def bcs_ratio(t: float) -> float:
    """Δ(t)/Δ(0) of weak-coupling BCS, from the regularised gap equation."""
    if t >= 1.0:
        return 0.0
    return bcs_gap(t) / BCS_RATIO


def t_for_ratio(ratio: float) -> float:
    """Inverse of :func:`bcs_ratio`: the reduced temperature where Δ(t)/Δ(0) = ratio."""
    if not 0.0 < ratio < 1.0:
        return math.nan
    lo = 0.02
    if bcs_ratio(lo) < ratio:  # essentially T = 0
        return 0.0
    return float(optimize.brentq(lambda t: bcs_ratio(t) - ratio, lo, 1.0 - 1e-12, xtol=1e-12))


def flop_table(Tc_K: float, dos_states_per_eV_fu: float, a_angstrom: float, R_d_angstrom: float,
               K_ueV, c_values, xi0_nm: float, observed_onset_K: float | None = None) -> list[dict]:
    """Rows of the hysteresis table: flop temperature versus anisotropy energy K.

    For each prefactor c and each K: Δ/Δ(0) at the flop, t_flop = T_flop/Tc, T_flop, Tc − T_flop,
    and the GL coherence length ξ(T_flop) = ξ(0)/√(1 − t).  If ``observed_onset_K`` is given, one
    extra row per c gives the K that puts the flop that far below Tc.
    """
    rows = []
    for c in c_values:
        e0 = puddle_energy_zero_T(Tc_K, dos_states_per_eV_fu, a_angstrom, R_d_angstrom, c)
        for K in K_ueV:
            ratio = math.sqrt(K / e0) if K < e0 else math.nan
            t = t_for_ratio(ratio) if ratio == ratio else math.nan
            rows.append(_row("input", c, K, e0, ratio, t, Tc_K, xi0_nm, R_d_angstrom))
        if observed_onset_K is not None:
            t = 1.0 - observed_onset_K / Tc_K
            ratio = bcs_ratio(t)
            rows.append(_row("observed_onset", c, e0 * ratio ** 2, e0, ratio, t, Tc_K, xi0_nm,
                             R_d_angstrom))
    return rows


def _row(source, c, K, e0, ratio, t, Tc_K, xi0_nm, R_d):
    T = t * Tc_K if t == t else math.nan
    xi = xi0_nm / math.sqrt(1.0 - t) if t == t and t < 1 else math.nan
    return {"source": source, "c": c, "K_ueV": K, "E_pud0_ueV": e0, "delta_ratio": ratio,
            "t_flop": t, "T_flop_K": T, "Tc_minus_T_flop_K": Tc_K - T if T == T else math.nan,
            "xi_at_flop_nm": xi, "R_d_over_xi": (R_d / 10.0) / xi if xi == xi else math.nan}
