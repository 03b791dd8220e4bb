"""General 4×4 solver: self-consistent ⟨ĝ⟩ from matrix-sign functions.

Equations: ``docs/model.md#quasiclassical-green-function``; iteration and its safeguards:
``docs/model.md#numerics``.  Works for every parameter choice (field direction, r0, rm,
magnetic axes, SOC shape); the exact reduced solver (:mod:`isingflow.model.reduced`) is the fast
path where it applies.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isingflow.model.nambu import SZ, TY, TZ, TZS, bcs_matrix, matrix_sign
from isingflow.model.params import ModelParams

_HALVES = (1, -1)


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


def _half_average_map(wf: np.ndarray, delta: float, p: ModelParams):
    """The map ⟨ĝ⟩_h ↦ average over half h of sign(Q_k[⟨ĝ⟩]), and the weights of the halves.

    Q_k = τz ω − Δ τy + i τz B·σ + i Δ_SOC(k) σz + Σ_h, with the Born self-energy of half h
    Σ_h = η[(1+r0)/2 ⟨ĝ⟩_same + (1−r0)/2 ⟨ĝ⟩_opp] + Σ_a η_a (τzσ_a) ⟨ĝ⟩^m (τzσ_a).
    The returned ``fmap(Ga, idx)`` takes half averages of shape (n, 2, 4, 4) at frequencies
    ``wf[idx]``.
    """
    dk, wk, hk = p.kpoints()
    wh = np.array([wk[hk == h].sum() for h in _HALVES])
    bvec = p.B * p.bhat
    H0 = 1j * sum(bvec[a] * TZS[a] for a in range(3))  # i τz B·σ
    base = wf[:, None, None] * TZ + (-delta * TY + H0)[None]
    mags = [(a, e) for a, e in enumerate(p.eta_mag) if e > 0]
    sels = [np.nonzero(hk == h)[0] for h in _HALVES]

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

    return fmap, wh


class _Anderson:
    """Anderson-accelerated linear mixing with a separate history (memory ``m``) per point.

    The history starts after ``start`` plain iterations; a point whose residual grows tenfold
    above its best restarts its history.
    """

    def __init__(self, nw: int, m: int, mixing: float, start: int):
        self.m, self.mixing, self.start = m, mixing, start
        self.dX = np.zeros((nw, 32, m), complex)
        self.dR = np.zeros((nw, 32, m), complex)
        self.nh = np.zeros(nw, int)  # history length per point
        self.prevX = np.zeros((nw, 32), complex)
        self.prevR = np.zeros((nw, 32), complex)
        self.best = np.full(nw, np.inf)

    def _record(self, it, active, xa, ra, err):
        m = self.m
        if it > self.start:  # update the history with the last step
            k = np.minimum(self.nh[active], m - 1)
            self.dX[active] = np.roll(self.dX[active], 1, axis=2)
            self.dR[active] = np.roll(self.dR[active], 1, axis=2)
            self.dX[active, :, 0] = xa - self.prevX[active]
            self.dR[active, :, 0] = ra - self.prevR[active]
            self.nh[active] = k + 1
        grow = err > 10 * self.best[active]
        self.nh[active[grow]] = 0
        self.best[active] = np.minimum(self.best[active], err)
        self.prevX[active] = xa
        self.prevR[active] = ra

    def step(self, it, active, xa, ra, err) -> np.ndarray:
        """The update of ``xa`` (residual ``ra``): mixing·r, extrapolated over the history."""
        m, mixing = self.m, self.mixing
        step = mixing * ra
        self._record(it, active, xa, ra, err)
        use = self.nh[active] > 0
        if not use.any():
            return step
        ia = active[use]
        mask = (np.arange(m) < self.nh[ia][:, None])[:, None, :]
        Fh = self.dR[ia] * mask
        Xh = self.dX[ia] * mask
        A = np.einsum("nda,ndb->nab", Fh.conj(), Fh)
        lam = 1e-12 * np.einsum("naa->n", A).real + 1e-300
        A = A + lam[:, None, None] * np.eye(m)
        b = np.einsum("nda,nd->na", Fh.conj(), ra[use])
        try:
            gam = np.linalg.solve(A, b[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return step
        st = mixing * ra[use] - np.einsum("nda,na->nd", Xh + mixing * Fh, gam)
        ok = np.isfinite(st).all(axis=1)
        step[np.nonzero(use)[0][ok]] = st[ok]
        return step


def _unphysical(avg: np.ndarray) -> np.ndarray:
    """Indices whose electron-block DOS matrix ½[ĝ_ee + ĝ_ee†] is not positive."""
    gee = avg[:, :2, :2]
    rho = 0.5 * (gee + np.conj(np.swapaxes(gee, -1, -2)))
    return np.nonzero(np.linalg.eigvalsh(rho).min(axis=-1) < -1e-9)[0]


def solve_general(w, delta: float, p: ModelParams, tol: float = 1e-11, maxit: int = 6000,
                  mixing: float = 0.5, anderson: int = 6, anderson_start: int = 10) -> GeneralSolution:
    """Self-consistent ⟨ĝ⟩ from full 4×4 matrix-sign functions.

    Starts from the BCS ĝ and iterates ⟨ĝ⟩ ← average_k sign(Q_k[⟨ĝ⟩]) with linear mixing
    (``mixing``) and per-frequency convergence masks.  With ``anderson`` > 0 the mixing is
    Anderson-accelerated (memory ``anderson``, per frequency) after ``anderson_start`` plain
    iterations; a point whose residual grows restarts its history.  Retarded solutions (Re w > 0
    small, real E) whose electron-block DOS matrix is not positive (an unphysical fixed point)
    are recomputed with plain mixing.  Convergence: max |F(⟨ĝ⟩) − ⟨ĝ⟩| < ``tol``.
    """
    w = np.asarray(w, dtype=complex)
    shape = w.shape
    wf = w.ravel()
    nw = wf.size
    fmap, wh = _half_average_map(wf, delta, p)
    X = np.repeat(bcs_matrix(wf, delta)[:, None], 2, axis=1).reshape(nw, 32)
    acc = _Anderson(nw, int(anderson), mixing, anderson_start) if int(anderson) > 0 else None
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
        step = mixing * ra if acc is None else acc.step(it, active, xa, ra, err)
        X[active[~done]] = xa[~done] + step[~done]
        active = active[~done]
    G = X.reshape(nw, 2, 4, 4)
    avg = np.einsum("h,whij->wij", wh, G)
    bad = _unphysical(avg) if acc is not None else np.zeros(0, int)
    if bad.size:  # unphysical root reached by the extrapolation: redo with plain mixing
        sub = solve_general(wf[bad], delta, p, tol, maxit, mixing, anderson=0)
        G[bad] = sub.G
        avg[bad] = sub.average
        converged[bad] = sub.converged
        it = max(it, sub.iterations)
    return GeneralSolution(G.reshape(shape + (2, 4, 4)), avg.reshape(shape + (4, 4)),
                           converged.reshape(shape), it)
