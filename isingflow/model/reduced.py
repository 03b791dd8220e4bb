"""Exact reduced solver: four scalars per frequency (``docs/model.md#exact-reduced-solutions``).

Applies when ⟨ĝ⟩ commutes with B̂·σ and has only τz, τy, τzB̂·σ, τyB̂·σ components: B ∥ c (any
disorder), or B in plane with r0 = 0 and magnetic axes each parallel or perpendicular to B̂
(rm = 0 if there are magnetic impurities).  Newton iteration (finite-difference Jacobian) on the
four scalars (g_+, f_+, g_−, f_−), vectorised over all frequencies at once.  Tested against
:func:`isingflow.model.general.solve_general` to 1e-9.

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

from isingflow.model.params import ModelParams, magnetic_flips, reduced_path


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


def _newton_step(F, ua, wa, ra, hstep: float = 1e-7):
    """One Newton step on r(u) = F(u) − u at the active points; (u, r, max|r|) after it.

    The Jacobian is taken by finite differences; where Newton does not reduce the residual the
    step falls back to a damped fixed-point step u + r/2.
    """
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
    if worse.any():
        um = ua[worse] + 0.5 * ra[worse]
        un[worse] = um
        rn[worse] = F(um, wa[worse]) - um
        en[worse] = np.abs(rn[worse]).max(axis=-1)
    return un, rn, en


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
        Forced path; by default :func:`isingflow.model.params.reduced_path`.
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
    clean = fmap(np.zeros(wf.shape + (4,), complex), wf, delta, p.B, 0.0, [], d2, wk)
    if p.eta == 0.0 and not flips:  # no self-energy: explicit
        return ReducedSolution(clean.reshape(shape + (4,)), np.ones(shape, bool), 0)
    u = clean if u0 is None else np.array(u0, dtype=complex).reshape(wf.shape + (4,))

    def F(uu, ww):
        return fmap(uu, ww, delta, p.B, p.eta, flips, d2, wk)

    res = F(u, wf) - u
    active = np.nonzero(np.abs(res).max(axis=-1) > tol)[0]
    it = 0
    while active.size and it < maxit:
        it += 1
        un, rn, en = _newton_step(F, u[active], wf[active], res[active])
        u[active] = un
        res[active] = rn
        active = active[en > tol]
    converged = np.ones(wf.shape, bool)
    converged[active] = False
    return ReducedSolution(u.reshape(shape + (4,)), converged.reshape(shape), it)
