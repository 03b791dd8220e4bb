"""Critical field B_c(T, φ_B) and critical temperature from the linearised gap equation.

Definition and the scan: ``docs/model.md#critical-field``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from isingflow.model.frequencies import matsubara, omega_cutoff
from isingflow.model.gap import RTOL
from isingflow.model.linear import linearised_residual
from isingflow.model.params import ModelParams, model_params


def _scan_grid(scan_step: float, b_max: float) -> np.ndarray:
    """Fields of the upward scan: steps of ``scan_step`` up to B = 20, then 5 % steps, to b_max."""
    grid = []
    b = 0.0
    while b < b_max:
        b = b + (scan_step if b < 20 else 0.05 * b)
        grid.append(min(b, b_max))
    return np.array(grid)


def critical_field(T: float, phi_B: float, delta_soc: float = 20.0, eta: float = 0.0,
                   eta_mag=(0.0, 0.0, 0.0), soc: str = "const", r0: float = 0.0, rm: float = 0.0,
                   *, n_quad: int = 160, omega_max: float | None = None, scan_step: float = 0.5,
                   b_max: float = 1e4, xtol: float = 1e-10) -> float:
    """In-plane critical field B_c(T, φ_B) from the linearised gap equation.

    The smallest B > 0 with 2πt Σ[1/ω_n − 1/𝒟(ω_n; B, φ_B)] = ln(1/t): B is scanned upward from 0
    (step ``scan_step`` up to B = 20, then 5 % steps) and the first sign change is refined by Brent.

    Parameters
    ----------
    T : float
        t = T/Tc0.
    phi_B : float
        In-plane field angle from x (radians).
    delta_soc, eta, eta_mag, soc, r0, rm, n_quad :
        As in :func:`isingflow.model.order_parameter` (note the default η = 0 here).
    omega_max : float, optional
        Matsubara cut-off (default max(60 Δ_SOC, 1000)).
    scan_step : float
        Initial scan step in B.
    b_max : float
        Give up (return ``inf``) above this field.

    Returns
    -------
    float
        B_c in units of Tc0; 0.0 if the zero-field state is already normal, ``inf`` if no
        transition below ``b_max``.
    """
    p = model_params(0.0, np.pi / 2, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad)
    t = float(T)
    om = matsubara(t, omega_max or omega_cutoff(p.delta_soc))
    if linearised_residual(0.0, t, p, om)[0] >= 0.0:
        return 0.0
    grid = _scan_grid(scan_step, b_max)
    prev = 0.0
    chunk = 16
    for i in range(0, grid.size, chunk):
        g = grid[i:i + chunk]
        vals = linearised_residual(g, t, p, om)
        pos = np.nonzero(vals >= 0)[0]
        if pos.size:
            j = pos[0]
            lo = g[j - 1] if j > 0 else prev
            f1 = lambda x: float(linearised_residual(x, t, p, om)[0])  # noqa: E731
            return float(optimize.brentq(f1, lo, g[j], xtol=xtol, rtol=RTOL))
        prev = g[-1]
    return math.inf


def tc(p: ModelParams, omega_max: float | None = None) -> float:
    """Critical temperature t_c = Tc/Tc0 at field p.B (linearised equation, second-order transition)."""
    def L(t):
        om = matsubara(t, omega_max or omega_cutoff(p.delta_soc))
        return float(linearised_residual(p.B, t, p, om)[0])
    if L(1.0 - 1e-12) < 0:
        return 1.0
    lo = 1e-3
    if L(lo) > 0:
        return 0.0
    return float(optimize.brentq(L, lo, 1.0, xtol=1e-12))
