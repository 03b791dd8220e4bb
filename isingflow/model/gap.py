"""Gap equation, linearised kernels and critical fields (spec §2.2–§2.5).

Gap equation regularised by Tc0 (no cutoff, t = T/Tc0, ω_n = πt(2n+1)):

    ln(1/t) = 2πt Σ_{n≥0} [ 1/ω_n − Re f_s(ω_n; Δ)/Δ ]

The Matsubara sum is truncated at ω_max = max(omega_soc_factor·Δ_SOC, omega_min) and the tail is
added analytically: the 1/ω² part that magnetic impurities leave (f_s/Δ → 1/(ω + 2Γ_m)) exactly
with digamma functions, 2πt Σ_{n≥N} [1/ω_n − 1/(ω_n + c)] = ψ(N + ½ + c/2πt) − ψ(N + ½),
c = 2Γ_m, and the remaining a/ω³ tail with a read off the last frequency (see :func:`_msum`);
results are then independent of the cut-off to ~1e-10.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from isingflow.model.core import (ModelParams, reduced_path, solve_general, solve_reduced)

#: default Matsubara cut-off: ω_max = max(OMEGA_SOC_FACTOR·Δ_SOC, OMEGA_MIN)  (spec §2.2)
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


def _msum(om: np.ndarray, summand: np.ndarray, t: float, c: float = 0.0) -> np.ndarray:
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
    return _msum(om, s, t) - math.log(1.0 / t)


def bcs_gap(t: float, omega_max: float = OMEGA_MIN * 2) -> float:
    """Clean BCS gap Δ(t) in units of Tc0 from the regularised gap equation (0 for t ≥ 1)."""
    if t >= 1.0:
        return 0.0
    om = matsubara(t, omega_max)
    return float(optimize.brentq(lambda d: _bcs_residual(d, t, om)[0], 1e-9, 2.0,
                                 xtol=1e-14, rtol=1e-14))


# --------------------------------------------------------------------------------------------
# Singlet kernel Re f_s/Δ at finite Δ
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
    out = [float(_msum(om, 1.0 / om - ker(float(d)), t, c)) - math.log(1.0 / t)
           for d in np.atleast_1d(delta)]
    return np.array(out)


def order_parameter(T: float, B: float, theta_B: float = 0.0, phi_B: float = 0.0,
                    delta_soc: float = 20.0, eta: float = 1.0, eta_mag=(0.0, 0.0, 0.0),
                    soc: str = "const", r0: float = 0.0, rm: float = 0.0, *,
                    n_quad: int = 160, omega_max: float | None = None, xtol: float = 1e-11,
                    tol: float = 1e-12, solver: str = "auto") -> float:
    """Order parameter Δ_o from the Tc0-regularised gap equation (spec §2.2).

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
    p = ModelParams(B=float(B), theta_B=float(theta_B), phi_B=float(phi_B),
                    delta_soc=float(delta_soc), eta=float(eta), eta_mag=tuple(eta_mag), soc=soc,
                    r0=float(r0), rm=float(rm), n_quad=int(n_quad))
    return _order_parameter(float(T), p, omega_max, xtol, tol, solver)


def _order_parameter(t: float, p: ModelParams, omega_max=None, xtol=1e-11, tol=1e-12,
                     solver: str = "auto") -> float:
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
            cache[d] = float(_msum(om, 1.0 / om - ker(d), t, c)) - lnt
        return cache[d]

    if ker.path == "par" and p.gamma_m == 0.0:
        return _largest_root_closed_form(t, p, om, lnt, xtol)
    if p.B == 0.0 and p.gamma_m == 0.0:  # forced general solver at B = 0: root near Δ_BCS
        lo, hi = d_bcs * (1 - 1e-3), d_bcs * (1 + 1e-3)
        if F(lo) < 0 < F(hi):
            return float(optimize.brentq(F, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps))
    # pair breaking lowers Re f_s/Δ below BCS, so F > 0 above Δ_BCS(t): scan downwards from there
    top = d_bcs * (1 + 1e-9)
    if F(top) <= 0.0:  # never expected; fall back to the spec's bracket (1e-3, 2.2)
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
            return float(optimize.brentq(F, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps))
        hi = lo
    return 0.0


def _largest_root_closed_form(t, p, om, lnt, xtol) -> float:
    """B ∥ c without magnetic impurities: vectorised scan for the largest root (Sarma-safe)."""
    z = om + 1j * p.B

    def Fv(d):
        d = np.atleast_1d(d)
        k = np.real(1.0 / np.sqrt(z[None, :] ** 2 + d[:, None] ** 2))
        return _msum(om, 1.0 / om[None, :] - k, t) - lnt

    grid = np.linspace(2.2, 1e-3, 440)
    vals = Fv(grid)
    neg = np.nonzero(vals < 0)[0]
    f1 = lambda d: float(Fv(d)[0])  # noqa: E731
    if neg.size:
        i = neg[0]
        if i == 0:
            raise RuntimeError("gap equation: F(2.2) < 0")
        return float(optimize.brentq(f1, grid[i], grid[i - 1], xtol=xtol, rtol=4 * np.finfo(float).eps))
    # no sign change on the grid: look for two close roots around a local minimum of F
    for i in range(1, grid.size - 1):
        if vals[i] <= vals[i - 1] and vals[i] <= vals[i + 1]:
            m = optimize.minimize_scalar(f1, bounds=(grid[i + 1], grid[i - 1]), method="bounded",
                                         options={"xatol": 1e-12})
            if m.fun < 0:
                return float(optimize.brentq(f1, m.x, grid[i - 1], xtol=xtol,
                                             rtol=4 * np.finfo(float).eps))
    return 0.0


# --------------------------------------------------------------------------------------------
# Linearised kernels (Δ → 0)
def inv_kernel_const(om: np.ndarray, B, phi_B: float, delta_soc: float, eta: float,
                     eta_mag=(0.0, 0.0, 0.0), r0: float = 0.0, rm: float = 0.0) -> np.ndarray:
    """𝒟(ω) of spec §2.4 for in-plane B = B(cos φ, sin φ, 0), constant |Δ_SOC| (exact).

    ``B`` may be an array; it broadcasts against ``om`` as ``B[..., None]``.
    The singlet kernel is f_s/Δ = 1/𝒟.
    """
    ex, ey, ez = (float(x) for x in eta_mag)
    gm = ex + ey + ez
    D2 = delta_soc ** 2
    Bv = np.asarray(B, float)[..., None]
    Bx, By = Bv * math.cos(phi_B), Bv * math.sin(phi_B)
    Bx2, By2 = Bx * Bx, By * By
    wt = om + eta + gm
    wa = wt - r0 * eta + rm * (ex - ey - ez)
    wb = wt - r0 * eta + rm * (ey - ex - ez)
    wc = wt - r0 * eta + rm * gm
    pp = om + 2 * ex
    qq = om + 2 * ey
    P = pp * wb + D2
    R = qq * wa + D2
    cross = Bx2 * By2 * (1 / R - 1 / P) * (pp * wb / P - qq * wa / R) / (wc + qq * Bx2 / R + pp * By2 / P)
    return om + 2 * gm + wb * Bx2 / P + wa * By2 / R + cross


def linear_kernel(om: np.ndarray, p: ModelParams) -> np.ndarray:
    """Linearised singlet kernel f_s/Δ (Δ → 0) for any field direction, disorder and SOC shape.

    Solves, per Matsubara frequency, the linearised equations for the anomalous block
    F_k = f0 + f·σ at every Fermi-surface point (ω̃ = ω + η + Γ_m):

        ω̃ f0 + iB·f − Σ[f0] = iΔ,    ω̃ f + iB f0 − Δ_SOC(k) ẑ×f − Σ[f] = 0,

    with the Born self-energies of the half averages F̄_h (h = sign of Δ_SOC(k))
    Σ = η[(1+r0)/2 F̄_same + (1−r0)/2 F̄_opp] + Σ_a η_a S_a[(1+rm)/2 F̄_same + (1−rm)/2 F̄_opp],
    where S_a flips the sign of f0 and f_a.  Averaging M_k⁻¹ over each half leaves an 8×8 linear
    system per frequency.  For constant |Δ_SOC| and in-plane B this reproduces the closed form
    1/𝒟 of :func:`inv_kernel_const`; it agrees with the 4×4 solver at Δ → 0 in every case.

    Returns
    -------
    ndarray (complex)
        f_s/Δ = −i⟨f0⟩/Δ at each ω (real up to rounding).
    """
    om = np.asarray(om, float)
    dk, wk, hk = p.kpoints()
    B = p.B * p.bhat
    gm = p.gamma_m
    wt = om + p.eta + gm
    nw = om.size
    # M_k (per frequency): ω̃ I + K_k
    K = np.zeros((dk.size, 4, 4), complex)
    for a in range(3):
        K[:, 0, a + 1] = 1j * B[a]
        K[:, a + 1, 0] = 1j * B[a]
    K[:, 1, 2] = dk
    K[:, 2, 1] = -dk
    M = wt[:, None, None, None] * np.eye(4) + K[None]
    Minv = np.linalg.inv(M)  # (nw, nk, 4, 4)
    halves = (1, -1)
    A = []
    for h in halves:
        sel = hk == h
        wsum = wk[sel].sum()
        A.append(np.einsum("k,wkij->wij", wk[sel] / wsum, Minv[:, sel]))
    S = []
    for a in range(3):
        s = np.ones(4)
        s[0] = -1
        s[a + 1] = -1
        S.append(np.diag(s))
    C_same = p.eta * 0.5 * (1 + p.r0) * np.eye(4) + sum(e * 0.5 * (1 + p.rm) * S[a]
                                                         for a, e in enumerate(p.eta_mag))
    C_opp = p.eta * 0.5 * (1 - p.r0) * np.eye(4) + sum(e * 0.5 * (1 - p.rm) * S[a]
                                                        for a, e in enumerate(p.eta_mag))
    big = np.zeros((nw, 8, 8), complex)
    rhs = np.zeros((nw, 8), complex)
    for ih in range(2):
        big[:, 4 * ih:4 * ih + 4, 4 * ih:4 * ih + 4] = np.eye(4) - A[ih] @ C_same
        big[:, 4 * ih:4 * ih + 4, 4 * (1 - ih):4 * (1 - ih) + 4] = -A[ih] @ C_opp
        rhs[:, 4 * ih:4 * ih + 4] = 1j * A[ih][:, :, 0]  # iΔ e0 with Δ = 1
    X = np.linalg.solve(big, rhs[..., None])[..., 0]
    wh = np.array([wk[hk == h].sum() for h in halves])
    f0 = wh[0] * X[:, 0] + wh[1] * X[:, 4]
    return -1j * f0


def linearised_residual(B, t: float, p: ModelParams, om: np.ndarray | None = None) -> np.ndarray:
    """L(B) = 2πt Σ[1/ω_n − Re(f_s/Δ)_lin] + tail − ln(1/t); L < 0 ⇔ normal state unstable."""
    if om is None:
        om = matsubara(t, omega_cutoff(p.delta_soc))
    Bs = np.atleast_1d(np.asarray(B, float))
    if p.soc == "const" and (field_is_in_plane_angle(p.theta_B) or p.B == 0):
        Dinv = inv_kernel_const(om, Bs, p.phi_B, p.delta_soc, p.eta, p.eta_mag, p.r0, p.rm)
        k = np.real(1.0 / Dinv)
    else:
        k = np.stack([np.real(linear_kernel(om, _with_B(p, b))) for b in Bs])
    return _msum(om, 1.0 / om[None, :] - k, t, 2 * p.gamma_m) - math.log(1.0 / t)


def field_is_in_plane_angle(theta: float) -> bool:
    r = np.remainder(theta - np.pi / 2, np.pi)
    return min(r, np.pi - r) < 1e-12


def _with_B(p: ModelParams, B: float) -> ModelParams:
    return ModelParams(B=float(B), theta_B=p.theta_B, phi_B=p.phi_B, delta_soc=p.delta_soc,
                       eta=p.eta, eta_mag=p.eta_mag, soc=p.soc, r0=p.r0, rm=p.rm, n_quad=p.n_quad)


def critical_field(T: float, phi_B: float, delta_soc: float = 20.0, eta: float = 0.0,
                   eta_mag=(0.0, 0.0, 0.0), soc: str = "const", r0: float = 0.0, rm: float = 0.0,
                   *, n_quad: int = 160, omega_max: float | None = None, scan_step: float = 0.5,
                   b_max: float = 1e4, xtol: float = 1e-10) -> float:
    """In-plane critical field B_c(T, φ_B) from the linearised gap equation (spec §2.5).

    The smallest B > 0 with 2πt Σ[1/ω_n − 1/𝒟(ω_n; B, φ_B)] = ln(1/t): B is scanned upward from 0
    (step ``scan_step`` up to B = 20, then 5 % steps) and the first sign change is refined by Brent.

    Parameters
    ----------
    T : float
        t = T/Tc0.
    phi_B : float
        In-plane field angle from x (radians).
    delta_soc, eta, eta_mag, soc, r0, rm, n_quad :
        As in :func:`order_parameter` (note the default η = 0 here).
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
    p = ModelParams(B=0.0, theta_B=np.pi / 2, phi_B=float(phi_B), delta_soc=float(delta_soc),
                    eta=float(eta), eta_mag=tuple(eta_mag), soc=soc, r0=float(r0), rm=float(rm),
                    n_quad=int(n_quad))
    t = float(T)
    om = matsubara(t, omega_max or omega_cutoff(p.delta_soc))
    if linearised_residual(0.0, t, p, om)[0] >= 0.0:
        return 0.0
    grid = []
    b = 0.0
    while b < b_max:
        b = b + (scan_step if b < 20 else 0.05 * b)
        grid.append(min(b, b_max))
    grid = np.array(grid)
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
            return float(optimize.brentq(f1, lo, g[j], xtol=xtol, rtol=4 * np.finfo(float).eps))
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


# --------------------------------------------------------------------------------------------
# Closed forms of §2.3 / §2.4 (used for checks and Table I)
def pauli_linear_residual(B: float, t: float) -> float:
    """ln(1/t) − [Re ψ(½ + iB/2πt) − ψ(½)]: linearised Pauli limit for B ∥ c (zero at B_c)."""
    return math.log(1.0 / t) - (float(np.real(special.digamma(0.5 + 1j * B / (2 * math.pi * t))))
                                - float(special.digamma(0.5)))


def pair_breaking_roots(B: float, delta_soc: float, eta: float) -> tuple[np.ndarray, np.ndarray]:
    """Roots −z_j of ω³ + ηω² + ρ²ω + ηB² and their weights A_j (spec §2.4, r0 = 0, scalar η).

    1/𝒟(ω) = Σ_j A_j/(ω + z_j); the root of smallest modulus is the Table I pair-breaking rate
    α ≈ ηB²/(B² + Δ_SOC²).  Returned sorted by |z|.
    """
    rho2 = B * B + delta_soc * delta_soc
    roots = np.roots([1.0, eta, rho2, eta * B * B])
    z = -roots
    z = z[np.argsort(np.abs(z))]
    A = np.empty(3, complex)
    for j in range(3):
        others = [z[k] for k in range(3) if k != j]
        A[j] = (z[j] ** 2 - eta * z[j] + delta_soc ** 2) / np.prod([zk - z[j] for zk in others])
    return z, A


def strong_soc_parameters(delta: float, B: float, delta_soc: float, eta: float) -> tuple[float, float]:
    """Helical-band projected gap Δ_h = Δ cos θ_s and AG rate α = η sin²θ_s, tan θ_s = B/Δ_SOC."""
    th = math.atan2(B, delta_soc)
    return delta * math.cos(th), eta * math.sin(th) ** 2


def condensation_energy(T: float, p: ModelParams, delta: float | None = None,
                        omega_max: float | None = None, n_points: int = 48) -> float:
    """Ω_s − Ω_n per N0 (N0 = normal DOS per spin), units of Tc0².

    The quasiclassical free-energy functional is stationary in ⟨ĝ⟩, so its total Δ-derivative is
    ∂Ω/∂Δ = 2 N0 Δ F(Δ) with F the gap-equation residual of :func:`gap_residual`;
    Ω_s − Ω_n = 2 N0 ∫_0^Δo Δ F(Δ) dΔ (Gauss–Legendre).  BCS check: −N0 Δ(0)²/2 at T → 0.
    Negative when the superconducting state at ``delta`` (default: Δ_o) is the stable one.
    """
    if delta is None:
        delta = _order_parameter(T, p, omega_max)
    if delta == 0.0:
        return 0.0
    x, w = np.polynomial.legendre.leggauss(n_points)
    d = 0.5 * delta * (x + 1.0)
    F = gap_residual(d, T, p, omega_max)
    return float(2.0 * np.sum(0.5 * delta * w * d * F))
