"""Matsubara frequencies, the regularised Matsubara sum with its analytic tail, the BCS gap.

Definitions: ``docs/model.md#gap-equation`` (cut-off and tail: ``docs/model.md#numerics``).
The Matsubara sum is truncated at ω_max = max(omega_soc_factor·Δ_SOC, omega_min) and the tail is
added analytically: the 1/ω² part that magnetic impurities leave (f_s/Δ → 1/(ω + 2Γ_m)) exactly
with digamma functions, 2πt Σ_{n≥N} [1/ω_n − 1/(ω_n + c)] = ψ(N + ½ + c/2πt) − ψ(N + ½),
c = 2Γ_m, and the remaining a/ω³ tail with a read off the last frequency (see
:func:`matsubara_sum`); results are then independent of the cut-off to ~1e-10.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

#: default Matsubara cut-off: ω_max = max(OMEGA_SOC_FACTOR·Δ_SOC, OMEGA_MIN)
OMEGA_SOC_FACTOR = 60.0
OMEGA_MIN = 1000.0


def matsubara(t: float, omega_max: float) -> np.ndarray:
    """Positive fermionic Matsubara frequencies ω_n = πt(2n+1) up to (at least) ``omega_max``."""
    if t <= 0:
        raise ValueError("temperature must be > 0 (units of Tc0)")
    n = int(math.ceil((omega_max / (math.pi * t) - 1.0) / 2.0)) + 1
    return math.pi * t * (2 * np.arange(max(n, 1)) + 1)


def omega_cutoff(delta_soc: float, omega_soc_factor: float = OMEGA_SOC_FACTOR,
                 omega_min: float = OMEGA_MIN) -> float:
    return max(omega_soc_factor * delta_soc, omega_min)


def _tail(t: float, n: int, c: float) -> float:
    """2πt Σ_{m≥n} [1/ω_m − 1/(ω_m + c)]."""
    if c == 0.0:
        return 0.0
    return float(special.digamma(n + 0.5 + c / (2 * math.pi * t)) - special.digamma(n + 0.5))


def matsubara_sum(om: np.ndarray, summand: np.ndarray, t: float, c: float = 0.0) -> np.ndarray:
    """2πt Σ_{n≥0} summand_n with the truncated tail added analytically.

    ``summand`` (last axis over ``om``, the first N Matsubara frequencies) must behave as
    1/ω − 1/(ω + c) + a/ω³ at large ω.  The first part is summed exactly with digamma functions;
    ``a`` is read off the last frequency and 2πt Σ_{n≥N} a/ω_n³ = −a ψ''(N + ½)/(8π²t²) is added,
    so the result is independent of the cut-off to O(ω_max⁻⁴).
    """
    n = om.size
    w = om[-1]
    shift = 1.0 / w - 1.0 / (w + c) if c else 0.0
    a = (summand[..., -1] - shift) * w ** 3
    cubic = -a * float(special.polygamma(2, n + 0.5)) / (8 * math.pi ** 2 * t ** 2)
    return 2 * math.pi * t * summand.sum(axis=-1) + _tail(t, n, c) + cubic


# --------------------------------------------------------------------------------------------
# BCS reference (B = 0: Δ_o(t) for any η, Δ_SOC, SOC shape — Anderson's theorem)
def _bcs_residual(delta: np.ndarray, t: float, om: np.ndarray) -> np.ndarray:
    delta = np.atleast_1d(np.asarray(delta, float))
    s = 1.0 / om[None, :] - 1.0 / np.sqrt(om[None, :] ** 2 + delta[:, None] ** 2)
    return matsubara_sum(om, s, t) - math.log(1.0 / t)


def bcs_gap(t: float, omega_max: float = OMEGA_MIN * 2) -> float:
    """Clean BCS gap Δ(t) in units of Tc0 from the regularised gap equation (0 for t ≥ 1)."""
    if t >= 1.0:
        return 0.0
    om = matsubara(t, omega_max)
    return float(optimize.brentq(lambda d: _bcs_residual(d, t, om)[0], 1e-9, 2.0,
                                 xtol=1e-14, rtol=1e-14))
