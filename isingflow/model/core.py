"""Quasiclassical core of the Γ-pocket Ising-superconductor model (spec ``physics_model.md`` §1, §2.1).

Units: every energy (ω, E, Δ, B, Δ_SOC, η, γ0) and the temperature are in units of the clean
zero-field critical temperature Tc0, with k_B = ħ = 1.  B is the Zeeman/exchange *energy*
entering as ``+B·σ`` (band spin splitting 2B).

Nambu basis Ψ_k = (c_k↑, c_k↓, c†_−k↓, −c†_−k↑); 4×4 matrices are ``kron(τ_i, σ_j)`` (τ outer,
σ inner), so the upper-left 2×2 block is the electron block.  The quasiclassical Green function
at one Fermi-surface point k is the matrix sign function

    ĝ_k(ω) = sign(Q_k),
    Q_k = τz ω + i[Δ_SOC(k) σz + τz B·σ] − Δ τy + η ⟨ĝ⟩_k + Σ_a η_a (τz σ_a) ⟨ĝ⟩^m_k (τz σ_a)

with ⟨ĝ⟩_k = (1+r)/2 ⟨ĝ⟩_{same half} + (1−r)/2 ⟨ĝ⟩_{opposite half}; a "half" is the set of k with
the same sign of Δ_SOC(k).  For real frequencies ω → −i(E + iγ0) (retarded).

Two solvers share the same conventions:

* :func:`solve_general` — full 4×4 matrices (any field direction, r0, rm, magnetic axes, SOC
  shape); matrix sign by the scaled Newton iteration X ← (μX + (μX)⁻¹)/2; self-consistency by
  linear mixing (0.5) with per-point convergence masks, as in the spec (§2.1, §3.1), Anderson
  accelerated (same fixed point, far fewer iterations near gap edges).
* :func:`solve_reduced` — exact closed forms (derived below) when ⟨ĝ⟩ commutes with B̂·σ and has
  only τz, τy, τzB̂·σ, τyB̂·σ components: B ∥ c (any disorder), or B in plane with r0 = 0 and
  magnetic axes each parallel or perpendicular to B̂ (rm = 0 if there are magnetic impurities).
  Newton iteration (finite-difference Jacobian) on the four scalars (g_+, f_+, g_−, f_−),
  vectorised over all frequencies at once.  Tested against :func:`solve_general` to 1e-9.

The reduced parametrisation: in the eigenbasis of B̂·σ (σ = ±1),
``⟨ĝ⟩ = Σ_σ P_σ (g_σ τz + f_σ τy)``, ``P_σ = (1 + σ B̂·σ)/2``.  The self-energy renormalises
``W_σ = ω + iσB + η g_σ + Σ_a η_a g_{π_a σ}`` and ``Δ_σ = Δ − η f_σ + Σ_a η_a f_{π_a σ}``
(π_a σ = σ if the impurity axis a ∥ B̂, −σ if a ⊥ B̂).  With A_σ = τz W_σ − τy Δ_σ and
R_σ² = W_σ² + Δ_σ²:

* B ∥ c: Q_k is block diagonal and the SOC is a scalar inside each block, so ĝ_σ = A_σ/R_σ.
* B ⊥ c: Δ_SOC(k) σz is off-diagonal in the B̂·σ basis, so Q_k = [[A_+, i D_k], [i D_k, A_−]]
  (2×2 τ-blocks, D_k = Δ_SOC(k) times the τ identity).  Tr Q = Tr Q³ = 0, so its spectrum is
  ±r_1, ±r_2 with
  x_{1,2} = r_{1,2}² = (R_+² + R_−²)/2 − D_k² ± d,
  d² = ((R_+² − R_−²)/2)² − D_k²[(W_+ + W_−)² + (Δ_+ + Δ_−)²];
  Cayley–Hamilton for Q² gives sign(Q) = [(x_1 + r_1 r_2 + x_2) Q − Q³]/(r_1 r_2 (r_1 + r_2)),
  whose diagonal blocks are [(R_{−σ}² + r_1 r_2) A_σ + D_k² A_{−σ}] / (r_1 r_2 (r_1 + r_2)).
  The off-diagonal blocks are odd in D_k and cancel in the r0 = 0 Fermi-surface average.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------------------------
# Pauli algebra
_S = [np.eye(2, dtype=complex),
      np.array([[0, 1], [1, 0]], dtype=complex),
      np.array([[0, -1j], [1j, 0]], dtype=complex),
      np.array([[1, 0], [0, -1]], dtype=complex)]


def pauli(t: int, s: int) -> np.ndarray:
    """The 4×4 Nambu matrix τ_t ⊗ σ_s (0 = identity, 1..3 = x, y, z)."""
    return np.kron(_S[t], _S[s])


TZ = pauli(3, 0)
TY = pauli(2, 0)
SZ = pauli(0, 3)
TZS = [pauli(3, 1), pauli(3, 2), pauli(3, 3)]  # τz σ_a, a = x, y, z


# --------------------------------------------------------------------------------------------
# Model parameters
@dataclass(frozen=True)
class ModelParams:
    """Physical parameters of the model (all energies in units of Tc0).

    Attributes
    ----------
    B : float
        Exchange (Zeeman) energy, ≥ 0.
    theta_B, phi_B : float
        Polar angle of the field from c (0 = B ∥ c, π/2 = in plane) and in-plane azimuth from x.
    delta_soc : float
        Ising SOC magnitude Δ_SOC (half-splitting convention).
    eta : float
        Scalar (spin-conserving) Born rate η = π n_i N0 u² = 1/(2τ).
    eta_mag : tuple of 3 floats
        Magnetic-impurity rates (η_x, η_y, η_z) along each easy axis.
    soc : {"const", "cos3theta"}
        Δ_SOC(θ) = Δ_SOC sgn(cos 3θ) (default) or Δ_SOC cos 3θ (nodal).
    r0, rm : float
        Momentum structure r = W_same − W_opp of scalar and magnetic scattering (0 = point-like).
    n_quad : int
        Gauss–Chebyshev points in φ = 3θ for the nodal SOC (ignored for "const").
    """

    B: float = 0.0
    theta_B: float = 0.0
    phi_B: float = 0.0
    delta_soc: float = 20.0
    eta: float = 1.0
    eta_mag: tuple = (0.0, 0.0, 0.0)
    soc: str = "const"
    r0: float = 0.0
    rm: float = 0.0
    n_quad: int = 160

    def __post_init__(self):
        if self.soc not in ("const", "cos3theta"):
            raise ValueError(f"soc must be 'const' or 'cos3theta', not {self.soc!r}")
        if len(self.eta_mag) != 3:
            raise ValueError("eta_mag must be (eta_x, eta_y, eta_z)")
        object.__setattr__(self, "eta_mag", tuple(float(x) for x in self.eta_mag))
        for name in ("B", "delta_soc", "eta", "n_quad"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if any(x < 0 for x in self.eta_mag):
            raise ValueError("eta_mag rates must be >= 0")
        for name in ("r0", "rm"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [-1, 1]")

    @property
    def bhat(self) -> np.ndarray:
        st = np.sin(self.theta_B)
        return np.array([st * np.cos(self.phi_B), st * np.sin(self.phi_B), np.cos(self.theta_B)])

    @property
    def gamma_m(self) -> float:
        """Total magnetic rate Γ_m = η_x + η_y + η_z (AG pair breaking 2Γ_m at B = 0)."""
        return float(sum(self.eta_mag))

    def kpoints(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fermi-surface quadrature: (Δ_SOC(k), weight, half index ±1)."""
        if self.soc == "const":
            d = np.array([self.delta_soc, -self.delta_soc])
            return d, np.array([0.5, 0.5]), np.array([1, -1])
        n = int(self.n_quad)
        if n < 2 or n % 2:
            raise ValueError("n_quad must be an even integer >= 2")
        phi = (2 * np.arange(1, n + 1) - 1) * np.pi / (2 * n)
        d = self.delta_soc * np.cos(phi)
        return d, np.full(n, 1.0 / n), np.where(d >= 0, 1, -1)


# --------------------------------------------------------------------------------------------
# Direction tests
_ANG_TOL = 1e-12


def _is_multiple(x: float, period: float) -> bool:
    r = np.remainder(x, period)
    return min(r, period - r) < _ANG_TOL


def field_is_out_of_plane(p: ModelParams) -> bool:
    return p.B == 0.0 or _is_multiple(p.theta_B, np.pi)


def field_is_in_plane(p: ModelParams) -> bool:
    return p.B > 0.0 and _is_multiple(p.theta_B - np.pi / 2, np.pi)


def magnetic_flips(p: ModelParams) -> list[tuple[float, bool]] | None:
    """For each non-zero η_a: (η_a, flips) where flips means axis a ⊥ B̂ (σ → −σ).

    Returns ``None`` if some axis with η_a > 0 is neither parallel nor perpendicular to B̂.
    """
    bhat = p.bhat
    out = []
    for a, eta_a in enumerate(p.eta_mag):
        if eta_a == 0.0:
            continue
        c = abs(bhat[a])
        if abs(c - 1.0) < 1e-12:
            out.append((eta_a, False))
        elif c < 1e-12:
            out.append((eta_a, True))
        else:
            return None
    return out


def reduced_path(p: ModelParams) -> str | None:
    """Which exact reduced solver applies: "par" (B ∥ c), "perp" (B in plane) or None."""
    flips = magnetic_flips(p)
    if flips is None:
        return None
    if field_is_out_of_plane(p):
        return "par"  # SOC drops out exactly; ĝ_k independent of k, so r0, rm, SOC shape irrelevant
    if field_is_in_plane(p) and p.r0 == 0.0 and (p.rm == 0.0 or not flips):
        return "perp"
    return None


# --------------------------------------------------------------------------------------------
# Reduced solver (four scalars per frequency)
def _renorm(u, w, delta, B, eta, flips):
    """(W_+, W_−, Δ_+, Δ_−) from u = (g_+, f_+, g_−, f_−)."""
    gp, fp, gm, fm = u[..., 0], u[..., 1], u[..., 2], u[..., 3]
    Wp = w + 1j * B + eta * gp
    Wm = w - 1j * B + eta * gm
    Dp = delta - eta * fp
    Dm = delta - eta * fm
    for eta_a, flip in flips:
        if flip:
            Wp = Wp + eta_a * gm
            Wm = Wm + eta_a * gp
            Dp = Dp + eta_a * fm
            Dm = Dm + eta_a * fp
        else:
            Wp = Wp + eta_a * gp
            Wm = Wm + eta_a * gm
            Dp = Dp + eta_a * fp
            Dm = Dm + eta_a * fm
    return Wp, Wm, Dp, Dm


def _map_par(u, w, delta, B, eta, flips, d2, wk):
    Wp, Wm, Dp, Dm = _renorm(u, w, delta, B, eta, flips)
    Rp = np.sqrt(Wp * Wp + Dp * Dp)
    Rm = np.sqrt(Wm * Wm + Dm * Dm)
    return np.stack([Wp / Rp, -Dp / Rp, Wm / Rm, -Dm / Rm], axis=-1)


def _map_perp(u, w, delta, B, eta, flips, d2, wk):
    Wp, Wm, Dp, Dm = _renorm(u, w, delta, B, eta, flips)
    Rp2 = Wp * Wp + Dp * Dp
    Rm2 = Wm * Wm + Dm * Dm
    half_sum = 0.5 * (Rp2 + Rm2)
    half_dif2 = (0.5 * (Rp2 - Rm2)) ** 2
    ws2 = (Wp + Wm) ** 2 + (Dp + Dm) ** 2
    out = np.zeros(np.shape(Wp) + (4,), dtype=complex)
    for D2, weight in zip(d2, wk):
        disc = np.sqrt(half_dif2 - D2 * ws2)
        x1 = half_sum - D2 + disc
        x2 = half_sum - D2 - disc
        r1 = np.sqrt(x1)
        r2 = np.sqrt(x2)
        rr = r1 * r2
        inv = weight / (rr * (r1 + r2))
        cp = (Rm2 + rr) * inv
        cm = (Rp2 + rr) * inv
        dd = D2 * inv
        out[..., 0] += cp * Wp + dd * Wm
        out[..., 1] -= cp * Dp + dd * Dm
        out[..., 2] += cm * Wm + dd * Wp
        out[..., 3] -= cm * Dm + dd * Dp
    return out


@dataclass
class ReducedSolution:
    """Self-consistent ⟨ĝ⟩ in the B̂·σ eigenbasis: ``u[..., :] = (g_+, f_+, g_−, f_−)``."""

    u: np.ndarray
    converged: np.ndarray
    iterations: int

    @property
    def f_singlet(self) -> np.ndarray:
        """f_s = −Tr(τy⟨ĝ⟩)/4 = −(f_+ + f_−)/2."""
        return -0.5 * (self.u[..., 1] + self.u[..., 3])

    @property
    def g_spin(self) -> np.ndarray:
        """Electron-block diagonal elements (g_+, g_−) along B̂, shape (2, ...)."""
        return np.stack([self.u[..., 0], self.u[..., 2]])


def _reduced_setup(p: ModelParams, path: str):
    flips = magnetic_flips(p)
    if path == "perp":
        d, wk, _ = p.kpoints()
        # the diagonal blocks depend on D_k² only: merge ±D_k
        d2, inv = np.unique(np.round(d * d, 12), return_inverse=True)
        w2 = np.bincount(inv, weights=wk)
        return _map_perp, flips, d2, w2
    return _map_par, flips, None, None


def solve_reduced(w, delta: float, p: ModelParams, path: str | None = None, tol: float = 1e-12,
                  maxit: int = 400, u0: np.ndarray | None = None) -> ReducedSolution:
    """Exact self-consistent ⟨ĝ⟩ for the reduced cases (see module docstring).

    Parameters
    ----------
    w : array_like of complex
        Frequencies: Matsubara ω_n > 0, or −i(E + iγ0) for retarded functions.
    delta : float
        Order parameter Δ (real).
    p : ModelParams
    path : {"par", "perp"}, optional
        Forced path; by default :func:`reduced_path`.
    tol : float
        Convergence on max |u − F(u)|.
    maxit : int
        Maximum Newton/mixing steps.
    u0 : array, optional
        Starting point, shape w.shape + (4,).  Default: the clean (η = η_a = 0) solution,
        which is exact at B = 0 by Anderson's theorem.
    """
    path = path or reduced_path(p)
    if path is None:
        raise ValueError("parameters outside the reduced (exact closed-form) cases")
    fmap, flips, d2, wk = _reduced_setup(p, path)
    w = np.asarray(w, dtype=complex)
    shape = w.shape
    wf = w.ravel()
    B = p.B
    eta = p.eta
    clean = fmap(np.zeros(wf.shape + (4,), complex), wf, delta, B, 0.0, [], d2, wk)
    if eta == 0.0 and not flips:  # no self-energy: explicit
        return ReducedSolution(clean.reshape(shape + (4,)), np.ones(shape, bool), 0)
    u = clean if u0 is None else np.array(u0, dtype=complex).reshape(wf.shape + (4,))

    def F(uu, ww):
        return fmap(uu, ww, delta, B, eta, flips, d2, wk)

    res = F(u, wf) - u
    err = np.abs(res).max(axis=-1)
    active = np.nonzero(err > tol)[0]
    it = 0
    hstep = 1e-7
    while active.size and it < maxit:
        it += 1
        ua = u[active]
        wa = wf[active]
        ra = res[active]
        # finite-difference Jacobian of the residual r(u) = F(u) − u
        J = np.empty(ua.shape + (4,), dtype=complex)
        for j in range(4):
            du = np.zeros(4, complex)
            du[j] = hstep
            J[..., :, j] = (F(ua + du, wa) - (ua + du) - ra) / hstep
        try:
            step = np.linalg.solve(J, -ra[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = 0.5 * ra
        bad = ~np.isfinite(step).all(axis=-1)
        step[bad] = 0.5 * ra[bad]
        un = ua + step
        rn = F(un, wa) - un
        en = np.abs(rn).max(axis=-1)
        ea = np.abs(ra).max(axis=-1)
        worse = ~(en < ea) | ~np.isfinite(en)
        if worse.any():  # fall back to damped fixed-point steps where Newton does not help
            um = ua[worse] + 0.5 * ra[worse]
            un[worse] = um
            rn[worse] = F(um, wa[worse]) - um
            en[worse] = np.abs(rn[worse]).max(axis=-1)
        u[active] = un
        res[active] = rn
        keep = en > tol
        active = active[keep]
    converged = np.ones(wf.shape, bool)
    converged[active] = False
    return ReducedSolution(u.reshape(shape + (4,)), converged.reshape(shape), it)


# --------------------------------------------------------------------------------------------
# General 4×4 solver
def matrix_sign(Q: np.ndarray, tol: float = 1e-14, maxit: int = 100) -> np.ndarray:
    """Matrix sign of a stack of square matrices (scaled Newton iteration).

    sign(Q) = V diag(sgn Re q_i) V⁻¹; computed as the limit of X ← (μX + (μX)⁻¹)/2 with the
    determinant scaling μ = |det X|^(−1/n) (no eigenvalue may lie on the imaginary axis).
    """
    X = np.array(Q, dtype=complex)
    n = X.shape[-1]
    for _ in range(maxit):
        Xi = np.linalg.inv(X)
        det = np.abs(np.linalg.det(X))
        mu = np.where(det > 0, det ** (-1.0 / n), 1.0)[..., None, None]
        Xn = 0.5 * (mu * X + Xi / mu)
        delta = np.abs(Xn - X).max()
        X = Xn
        if delta < tol * max(1.0, np.abs(X).max()):
            break
    return X


@dataclass
class GeneralSolution:
    """Self-consistent ⟨ĝ⟩ of the full 4×4 solver.

    ``G``: half averages ⟨ĝ⟩_h (h = +, −), shape w.shape + (2, 4, 4);
    ``average``: the plain Fermi-surface average ⟨ĝ⟩, shape w.shape + (4, 4).
    """

    G: np.ndarray
    average: np.ndarray
    converged: np.ndarray
    iterations: int

    @property
    def f_singlet(self) -> np.ndarray:
        """f_s = −Tr(τy⟨ĝ⟩)/4."""
        return -np.einsum("ij,...ji->...", TY, self.average) / 4.0


def _bcs_matrix(w, delta):
    R = np.sqrt(w * w + delta * delta)
    return (w / R)[..., None, None] * TZ - (delta / R)[..., None, None] * TY


def solve_general(w, delta: float, p: ModelParams, tol: float = 1e-11, maxit: int = 6000,
                  mixing: float = 0.5, anderson: int = 6, anderson_start: int = 10) -> GeneralSolution:
    """Self-consistent ⟨ĝ⟩ from full 4×4 matrix-sign functions (spec §2.1, §3.1).

    Starts from the BCS ĝ and iterates ⟨ĝ⟩ ← average_k sign(Q_k[⟨ĝ⟩]) with linear mixing
    (``mixing``) and per-frequency convergence masks, as in the spec.  With ``anderson`` > 0 the
    mixing is Anderson-accelerated (memory ``anderson``, per frequency) after ``anderson_start``
    plain iterations; a point whose residual grows restarts its history.  Retarded solutions
    (Re w > 0 small, real E) whose electron-block DOS matrix is not positive (an unphysical fixed
    point) are recomputed with plain mixing.  Works for every parameter choice (field direction, r0, rm,
    magnetic axes, SOC shape).  Convergence: max |F(⟨ĝ⟩) − ⟨ĝ⟩| < ``tol``.
    """
    w = np.asarray(w, dtype=complex)
    shape = w.shape
    wf = w.ravel()
    nw = wf.size
    dk, wk, hk = p.kpoints()
    halves = (1, -1)
    wh = np.array([wk[hk == h].sum() for h in halves])
    bvec = p.B * p.bhat
    H0 = 1j * sum(bvec[a] * TZS[a] for a in range(3))  # i τz B·σ
    # constant part of Q_k: τz ω − Δ τy + i τz B·σ  (+ i D_k σz)
    base = wf[:, None, None] * TZ + (-delta * TY + H0)[None]
    mags = [(a, e) for a, e in enumerate(p.eta_mag) if e > 0]
    sels = [np.nonzero(hk == h)[0] for h in halves]

    def fmap(Ga, idx):
        new = np.zeros_like(Ga)
        for ih in range(2):
            same, opp = Ga[:, ih], Ga[:, 1 - ih]
            sig = p.eta * (0.5 * (1 + p.r0) * same + 0.5 * (1 - p.r0) * opp)
            if mags:
                gm = 0.5 * (1 + p.rm) * same + 0.5 * (1 - p.rm) * opp
                for a, e in mags:
                    sig = sig + e * (TZS[a] @ gm @ TZS[a])
            Qh = base[idx] + sig
            sel = sels[ih]
            Q = Qh[:, None] + (1j * dk[sel])[None, :, None, None] * SZ
            new[:, ih] = np.einsum("k,wkij->wij", wk[sel], matrix_sign(Q)) / wh[ih]
        return new

    X = np.repeat(_bcs_matrix(wf, delta)[:, None], 2, axis=1).reshape(nw, 32)
    m = int(anderson)
    if m > 0:
        dX = np.zeros((nw, 32, m), complex)
        dR = np.zeros((nw, 32, m), complex)
        nh = np.zeros(nw, int)  # history length per point
        prevX = np.zeros((nw, 32), complex)
        prevR = np.zeros((nw, 32), complex)
        best = np.full(nw, np.inf)
    active = np.arange(nw)
    converged = np.zeros(nw, bool)
    it = 0
    while active.size and it < maxit:
        it += 1
        xa = X[active]
        ra = fmap(xa.reshape(-1, 2, 4, 4), active).reshape(-1, 32) - xa
        err = np.abs(ra).max(axis=1)
        done = err < tol
        converged[active[done]] = True
        step = mixing * ra
        if m > 0:
            if it > anderson_start:  # update the history with the last step
                k = np.minimum(nh[active], m - 1)
                dX[active] = np.roll(dX[active], 1, axis=2)
                dR[active] = np.roll(dR[active], 1, axis=2)
                dX[active, :, 0] = xa - prevX[active]
                dR[active, :, 0] = ra - prevR[active]
                nh[active] = k + 1
            grow = err > 10 * best[active]
            nh[active[grow]] = 0
            best[active] = np.minimum(best[active], err)
            prevX[active] = xa
            prevR[active] = ra
            use = nh[active] > 0
            if use.any():
                ia = active[use]
                Fh = dR[ia] * (np.arange(m) < nh[ia][:, None])[:, None, :]
                Xh = dX[ia] * (np.arange(m) < nh[ia][:, None])[:, None, :]
                A = np.einsum("nda,ndb->nab", Fh.conj(), Fh)
                lam = 1e-12 * np.einsum("naa->n", A).real + 1e-300
                A = A + lam[:, None, None] * np.eye(m)
                b = np.einsum("nda,nd->na", Fh.conj(), ra[use])
                try:
                    gam = np.linalg.solve(A, b[..., None])[..., 0]
                    st = mixing * ra[use] - np.einsum("nda,na->nd", Xh + mixing * Fh, gam)
                    ok = np.isfinite(st).all(axis=1)
                    step[np.nonzero(use)[0][ok]] = st[ok]
                except np.linalg.LinAlgError:
                    pass
        X[active[~done]] = xa[~done] + step[~done]
        active = active[~done]
    G = X.reshape(nw, 2, 4, 4)
    avg = np.einsum("h,whij->wij", wh, G)
    if m > 0:
        gee = avg[:, :2, :2]
        rho = 0.5 * (gee + np.conj(np.swapaxes(gee, -1, -2)))
        bad = np.nonzero(np.linalg.eigvalsh(rho).min(axis=-1) < -1e-9)[0]
        if bad.size:  # unphysical root reached by the extrapolation: redo with plain mixing
            sub = solve_general(wf[bad], delta, p, tol, maxit, mixing, anderson=0)
            G[bad] = sub.G
            avg[bad] = sub.average
            converged[bad] = sub.converged
            it = max(it, sub.iterations)
    return GeneralSolution(G.reshape(shape + (2, 4, 4)), avg.reshape(shape + (4, 4)),
                           converged.reshape(shape), it)
