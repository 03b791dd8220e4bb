"""Gap equation at finite Δ: the order parameter Δ_o and the condensation energy.

Equation and root choice: ``docs/model.md#gap-equation``; the B ∥ c closed form:
``docs/model.md#field-parallel-to-c``.  Gap equation regularised by Tc0 (no cutoff,
t = T/Tc0, ω_n = πt(2n+1)):

    ln(1/t) = 2πt Σ_{n≥0} [ 1/ω_n − Re f_s(ω_n; Δ)/Δ ]

with the tail of the sum added analytically (:func:`isingflow.model.frequencies.matsubara_sum`).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from isingflow.model.frequencies import bcs_gap, matsubara, matsubara_sum, omega_cutoff
from isingflow.model.general import solve_general
from isingflow.model.params import ModelParams, model_params, reduced_path
from isingflow.model.reduced import solve_reduced

#: relative root tolerance of every Brent search in Δ
RTOL = 4 * np.finfo(float).eps


class _Kernel:
    """Re f_s(ω_n; Δ)/Δ for one parameter set, with warm starts between Δ values."""

    def __init__(self, p: ModelParams, om: np.ndarray, tol: float, solver: str = "auto"):
        if solver not in ("auto", "general"):
            raise ValueError("solver must be 'auto' or 'general'")
        self.p = p
        self.om = om
        self.tol = tol
        self.path = reduced_path(p) if solver == "auto" else None
        self._u = None

    def __call__(self, delta: float) -> np.ndarray:
        p = self.p
        if self.path == "par" and p.eta_mag == (0.0, 0.0, 0.0):
            # Anderson: η drops out;  f_s = ½ Σ_σ Δ/√((ω + iσB)² + Δ²)
            z = self.om + 1j * p.B
            return np.real(1.0 / np.sqrt(z * z + delta * delta))
        if self.path is not None:
            sol = solve_reduced(self.om, delta, p, self.path, tol=self.tol, u0=self._u)
            if not sol.converged.all():
                sol = solve_reduced(self.om, delta, p, self.path, tol=self.tol)
            if not sol.converged.all():
                raise RuntimeError("reduced self-consistency did not converge")
            self._u = sol.u
            return np.real(sol.f_singlet) / delta
        sol = solve_general(self.om, delta, p, tol=self.tol)
        if not sol.converged.all():
            raise RuntimeError("4x4 self-consistency did not converge")
        return np.real(sol.f_singlet) / delta


def gap_residual(delta, t: float, p: ModelParams, omega_max: float | None = None,
                 tol: float = 1e-12, solver: str = "auto") -> np.ndarray:
    """F(Δ) = 2πt Σ[1/ω_n − Re f_s/Δ] − ln(1/t), for one or several Δ (F = 0 at a solution).

    ``solver="general"`` forces the full 4×4 matrix-sign solver (slow; for cross-checks).
    """
    om = matsubara(t, omega_max or omega_cutoff(p.delta_soc))
    ker = _Kernel(p, om, tol, solver)
    c = 2 * p.gamma_m
    out = [float(matsubara_sum(om, 1.0 / om - ker(float(d)), t, c)) - math.log(1.0 / t)
           for d in np.atleast_1d(delta)]
    return np.array(out)


def order_parameter(T: float, B: float, theta_B: float = 0.0, phi_B: float = 0.0,
                    delta_soc: float = 20.0, eta: float = 1.0, eta_mag=(0.0, 0.0, 0.0),
                    soc: str = "const", r0: float = 0.0, rm: float = 0.0, *,
                    n_quad: int = 160, omega_max: float | None = None, xtol: float = 1e-11,
                    tol: float = 1e-12, solver: str = "auto") -> float:
    """Order parameter Δ_o from the Tc0-regularised gap equation (``docs/model.md#gap-equation``).

    Parameters
    ----------
    T : float
        Temperature t = T/Tc0 (> 0).
    B : float
        Exchange energy (units of Tc0); enters as +B·σ.
    theta_B, phi_B : float
        Field polar angle from c (0: B ∥ c, π/2: in plane) and azimuth from x (radians).
    delta_soc : float
        Ising SOC Δ_SOC (units of Tc0).
    eta : float
        Scalar Born scattering rate η = 1/(2τ).
    eta_mag : (float, float, float)
        Magnetic-impurity rates (η_x, η_y, η_z).
    soc : {"const", "cos3theta"}
        SOC shape (constant magnitude with alternating sign, or nodal cos 3θ).
    r0, rm : float
        Momentum structure W_same − W_opp of scalar and magnetic scattering.
    n_quad : int
        Chebyshev points for the nodal SOC.
    omega_max : float, optional
        Matsubara cut-off (default max(60 Δ_SOC, 1000)).
    xtol : float
        Root tolerance in Δ.
    tol : float
        Self-consistency tolerance of ⟨ĝ⟩.
    solver : {"auto", "general"}
        "auto" uses the exact reduced closed forms where they apply (B ∥ c; B ⊥ c with r0 = 0 and
        magnetic axes ∥ or ⊥ B̂, rm = 0 unless no magnetic impurities) and the 4×4 solver
        otherwise; "general" always uses the 4×4 solver.

    Returns
    -------
    float
        The largest root Δ_o (branch continuous with B = 0), or 0.0 in the normal state.
    """
    p = model_params(B, theta_B, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad)
    return order_parameter_for(float(T), p, omega_max, xtol, tol, solver)


def order_parameter_for(t: float, p: ModelParams, omega_max=None, xtol=1e-11, tol=1e-12,
                        solver: str = "auto") -> float:
    """Δ_o at t = T/Tc0 for a :class:`ModelParams` (:func:`order_parameter` with the parameters bundled)."""
    if t <= 0:
        raise ValueError("T must be > 0 (units of Tc0)")
    d_bcs = bcs_gap(t)
    if d_bcs == 0.0:
        return 0.0  # pair breakers only lower Tc below Tc0
    if p.B == 0.0 and p.gamma_m == 0.0 and solver == "auto":
        return d_bcs  # Anderson's theorem
    om = matsubara(t, omega_max or omega_cutoff(p.delta_soc))
    ker = _Kernel(p, om, tol, solver)
    c = 2 * p.gamma_m
    lnt = math.log(1.0 / t)
    cache: dict[float, float] = {}

    def F(d: float) -> float:
        if d not in cache:
            cache[d] = float(matsubara_sum(om, 1.0 / om - ker(d), t, c)) - lnt
        return cache[d]

    if ker.path == "par" and p.gamma_m == 0.0:
        return _largest_root_closed_form(t, p, om, lnt, xtol)
    if p.B == 0.0 and p.gamma_m == 0.0:  # forced general solver at B = 0: root near Δ_BCS
        lo, hi = d_bcs * (1 - 1e-3), d_bcs * (1 + 1e-3)
        if F(lo) < 0 < F(hi):
            return float(optimize.brentq(F, lo, hi, xtol=xtol, rtol=RTOL))
    return _scan_down(F, d_bcs, xtol)


def _scan_down(F, d_bcs: float, xtol: float) -> float:
    """Largest root of F below Δ_BCS(t): pair breaking lowers Re f_s/Δ below BCS, so F > 0 above
    Δ_BCS; scan downwards in growing steps and refine the first sign change (0.0 if none)."""
    top = d_bcs * (1 + 1e-9)
    if F(top) <= 0.0:  # never expected; fall back to the bracket (1e-3, 2.2)
        top = max(2.2, 1.5 * d_bcs)
        if F(top) <= 0.0:
            raise RuntimeError("gap equation: no sign change above the BCS gap")
    fracs = [1e-4, 1e-3, 4e-3, 1e-2, 2e-2, 4e-2, 7e-2, 0.1] + list(np.arange(0.125, 1.0, 0.025))
    hi = top
    for s in fracs:
        lo = d_bcs * (1 - s)
        if lo < 1e-4:
            break
        if F(lo) < 0.0:
            return float(optimize.brentq(F, lo, hi, xtol=xtol, rtol=RTOL))
        hi = lo
    return 0.0


def _largest_root_closed_form(t, p, om, lnt, xtol) -> float:
    """B ∥ c without magnetic impurities: vectorised scan for the largest root (Sarma-safe)."""
    z = om + 1j * p.B

    def Fv(d):
        d = np.atleast_1d(d)
        k = np.real(1.0 / np.sqrt(z[None, :] ** 2 + d[:, None] ** 2))
        return matsubara_sum(om, 1.0 / om[None, :] - k, t) - lnt

    grid = np.linspace(2.2, 1e-3, 440)
    vals = Fv(grid)
    neg = np.nonzero(vals < 0)[0]
    f1 = lambda d: float(Fv(d)[0])  # noqa: E731
    if neg.size:
        i = neg[0]
        if i == 0:
            raise RuntimeError("gap equation: F(2.2) < 0")
        return float(optimize.brentq(f1, grid[i], grid[i - 1], xtol=xtol, rtol=RTOL))
    # no sign change on the grid: look for two close roots around a local minimum of F
    for i in range(1, grid.size - 1):
        if vals[i] <= vals[i - 1] and vals[i] <= vals[i + 1]:
            m = optimize.minimize_scalar(f1, bounds=(grid[i + 1], grid[i - 1]), method="bounded",
                                         options={"xatol": 1e-12})
            if m.fun < 0:
                return float(optimize.brentq(f1, m.x, grid[i - 1], xtol=xtol, rtol=RTOL))
    return 0.0


def condensation_energy(T: float, p: ModelParams, delta: float | None = None,
                        omega_max: float | None = None, n_points: int = 48) -> float:
    """Ω_s − Ω_n per N0 (N0 = normal DOS per spin), units of Tc0².

    The quasiclassical free-energy functional is stationary in ⟨ĝ⟩, so its total Δ-derivative is
    ∂Ω/∂Δ = 2 N0 Δ F(Δ) with F the gap-equation residual of :func:`gap_residual`;
    Ω_s − Ω_n = 2 N0 ∫_0^Δo Δ F(Δ) dΔ (Gauss–Legendre).  BCS check: −N0 Δ(0)²/2 at T → 0.
    Negative when the superconducting state at ``delta`` (default: Δ_o) is the stable one.
    """
    if delta is None:
        delta = order_parameter_for(T, p, omega_max)
    if delta == 0.0:
        return 0.0
    x, w = np.polynomial.legendre.leggauss(n_points)
    d = 0.5 * delta * (x + 1.0)
    F = gap_residual(d, T, p, omega_max)
    return float(2.0 * np.sum(0.5 * delta * w * d * F))
