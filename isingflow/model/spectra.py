"""Real-frequency DOS, S–FI–S tunnelling conductance and peak analysis (spec §3).

Retarded functions: ω → −i(E + iγ0) in Q_k, with ⟨ĝ^R⟩ self-consistent at every energy.
Spin-resolved DOS along B̂ (per spin, normalised to 1 in the normal state):
ρ(E) = ½[ĝ^R_ee + (ĝ^R_ee)†], n_s(E) = ⟨s|ρ(E)|s⟩, |s⟩ the eigenstates of B̂·σ.

Symmetric S–FI–S junction with the same exchange field in both layers and spin-conserving,
momentum-averaged tunnelling:

    I(V) = (G_N/e) Σ_s w_s ∫ dE n_s(E) n_s(E + eV) [f(E) − f(E + eV)],   Σ_s w_s = 1,

evaluated on a uniform energy grid as two FFT cross-correlations; dI/dV by central differences,
normalised to G_N (→ 1 for |eV| ≫ Δ).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from isingflow.model.core import (ModelParams, reduced_path, solve_general, solve_reduced)
from isingflow.model.gap import _order_parameter


def _params(B, theta_B, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad) -> ModelParams:
    return ModelParams(B=float(B), theta_B=float(theta_B), phi_B=float(phi_B),
                       delta_soc=float(delta_soc), eta=float(eta), eta_mag=tuple(eta_mag), soc=soc,
                       r0=float(r0), rm=float(rm), n_quad=int(n_quad))


def dos_at(E, delta: float, p: ModelParams, gamma0: float = 0.01, tol: float = 1e-10,
           maxit: int = 6000, solver: str = "auto") -> np.ndarray:
    """Spin-resolved DOS n_s(E) along B̂ at a given order parameter Δ; shape (2, len(E)).

    Row 0 is spin parallel to B̂ (Zeeman energy +B), row 1 antiparallel.
    """
    E = np.asarray(E, dtype=float)
    w = -1j * (E + 1j * gamma0)
    path = reduced_path(p) if solver == "auto" else None
    if path is not None:
        sol = solve_reduced(w, delta, p, path, tol=tol, maxit=maxit)
        n = np.real(sol.g_spin)
        bad = ~sol.converged | (n < -1e-9).any(axis=0)
        if bad.any():  # fall back to the plain 4x4 iteration where Newton failed
            n[:, bad] = _dos_general(w[bad], delta, p, tol, maxit)
        return n
    return _dos_general(w, delta, p, tol, maxit)


def _dos_general(w, delta, p, tol, maxit):
    sol = solve_general(w, delta, p, tol=tol, maxit=maxit)
    if not sol.converged.all():
        raise RuntimeError(f"DOS self-consistency did not converge at {np.sum(~sol.converged)} energies")
    gee = sol.average[..., :2, :2]
    bh = p.bhat
    sb = np.array([[bh[2], bh[0] - 1j * bh[1]], [bh[0] + 1j * bh[1], -bh[2]]])
    out = []
    for s in (1, -1):
        proj = 0.5 * (np.eye(2) + s * sb)
        out.append(np.real(np.einsum("...ij,ji->...", gee, proj)))
    return np.array(out)


def dos(E, T: float, B: float, theta_B: float = 0.0, phi_B: float = 0.0, delta_soc: float = 20.0,
        eta: float = 1.0, gamma0: float = 0.01, eta_mag=(0.0, 0.0, 0.0), soc: str = "const",
        r0: float = 0.0, rm: float = 0.0, *, delta: float | None = None, n_quad: int = 160,
        tol: float = 1e-10, maxit: int = 6000, solver: str = "auto") -> np.ndarray:
    """Spin-resolved density of states along B̂ (spec §3.1).

    Parameters
    ----------
    E : array_like
        Energies (units of Tc0).
    T : float
        Temperature t = T/Tc0; sets the self-consistent Δ_o unless ``delta`` is given.
    B, theta_B, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad :
        As in :func:`isingflow.model.order_parameter`.
    gamma0 : float
        Dynes regulator γ0 (E → E + iγ0).
    delta : float, optional
        Use this order parameter instead of solving the gap equation.
    tol, maxit :
        Self-consistency tolerance and iteration cap at each energy.
    solver : {"auto", "general"}
        "general" forces the full 4×4 solver with linear mixing (slow; for cross-checks).

    Returns
    -------
    ndarray, shape (2, len(E))
        n_+(E) (spin along +B̂) and n_−(E), each normalised to 1 in the normal state.
    """
    p = _params(B, theta_B, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad)
    if delta is None:
        delta = _order_parameter(float(T), p)
    return dos_at(np.atleast_1d(E), float(delta), p, gamma0, tol, maxit, solver)


def fermi(E, T: float):
    return special.expit(-np.asarray(E) / T)


def _xcorr(a: np.ndarray, b: np.ndarray, jmax: int) -> np.ndarray:
    """c[j] = Σ_i a_i b_{i+j} for j = −jmax..jmax (real inputs, FFT)."""
    n = a.size
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    A = np.fft.rfft(a, nfft)
    Bf = np.fft.rfft(b, nfft)
    c = np.fft.irfft(np.conj(A) * Bf, nfft)
    return np.concatenate([c[nfft - jmax:], c[:jmax + 1]])


def current_from_dos(n: np.ndarray, de: float, T: float, E: np.ndarray, jmax: int,
                     spin_filter=(0.5, 0.5)) -> np.ndarray:
    """I(V_j = j·de), j = −jmax..jmax, in units of G_N/e, from the spin-resolved DOS on a uniform grid."""
    f = fermi(E, T)
    I = np.zeros(2 * jmax + 1)
    for s, ws in enumerate(spin_filter):
        if ws == 0.0:
            continue
        ns = n[s]
        nf = ns * f
        I += ws * de * (_xcorr(nf, ns, jmax) - _xcorr(ns, nf, jmax))
    return I


def conductance(V, T: float, B: float, theta_B: float = 0.0, phi_B: float = 0.0,
                delta_soc: float = 20.0, eta: float = 1.0, gamma0: float = 0.01,
                spin_filter=(0.5, 0.5), eta_mag=(0.0, 0.0, 0.0), soc: str = "const",
                r0: float = 0.0, rm: float = 0.0, *, delta: float | None = None,
                n_quad: int = 160, de: float | None = None, e_max: float = 8.0,
                tol: float = 1e-10, maxit: int = 6000) -> np.ndarray:
    """Normalised S–FI–S differential conductance dI/dV / G_N (spec §3.2).

    Parameters
    ----------
    V : array_like
        Bias eV (units of Tc0).
    T : float
        Temperature (Fermi functions, and Δ_o unless ``delta`` is given).
    B, theta_B, phi_B, delta_soc, eta, gamma0, eta_mag, soc, r0, rm, n_quad :
        As in :func:`dos`.
    spin_filter : (float, float)
        Tunnelling weights (w_+, w_−) for spin along ±B̂ (the FI magnetisation); must sum to 1.
    delta : float, optional
        Order parameter (default: solved self-consistently).
    de : float, optional
        Energy step of the uniform grid (default γ0/10).
    e_max : float
        Half-width of the energy grid; widened automatically to max|V| + 20T + 1 so that the
        Fermi window is never cut.

    Returns
    -------
    ndarray
        G(V) = (dI/dV)/G_N at the requested biases.
    """
    V = np.asarray(V, dtype=float)
    w = np.asarray(spin_filter, dtype=float)
    if w.shape != (2,) or (w < 0).any() or abs(w.sum() - 1.0) > 1e-9:
        raise ValueError("spin_filter must be two non-negative weights summing to 1")
    p = _params(B, theta_B, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad)
    if delta is None:
        delta = _order_parameter(float(T), p)
    de = float(de or gamma0 / 10.0)
    vmax = float(np.max(np.abs(V))) if V.size else 0.0
    L = max(e_max, vmax + 20.0 * T + 1.0)
    m = int(math.ceil(L / de))
    E = de * np.arange(-m, m + 1)
    n = dos_at(E, float(delta), p, gamma0, tol, maxit)
    jmax = int(math.ceil(vmax / de)) + 2
    I = current_from_dos(n, de, T, E, jmax, w)
    Vg = de * np.arange(-jmax, jmax + 1)
    G = np.gradient(I, de)  # central differences inside
    return np.interp(V, Vg[1:-1], G[1:-1])


def conductance_grid(vmax: float, T: float, delta: float, p: ModelParams, gamma0: float = 0.01,
                     spin_filter=(0.5, 0.5), de: float | None = None, e_max: float = 8.0,
                     tol: float = 1e-10, maxit: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    """(V, G) on the native bias grid V_j = j·de, 0 ≤ V ≤ vmax (no interpolation)."""
    de = float(de or gamma0 / 10.0)
    L = max(e_max, vmax + 20.0 * T + 1.0)
    m = int(math.ceil(L / de))
    E = de * np.arange(-m, m + 1)
    n = dos_at(E, float(delta), p, gamma0, tol, maxit)
    jmax = int(math.ceil(vmax / de)) + 1
    I = current_from_dos(n, de, T, E, jmax, spin_filter)
    G = (I[2:] - I[:-2]) / (2 * de)  # j = −jmax+1 .. jmax−1
    Vg = de * np.arange(-jmax + 1, jmax)
    keep = (Vg >= -1e-12) & (Vg <= vmax + 1e-12)
    return Vg[keep], G[keep]


def peak_and_fwhm(V, G, delta_o: float, window: float = 0.5) -> tuple[float, float]:
    """Coherence-peak position and full width at half maximum (spec §3.3).

    V_p is the maximum of G in the window |eV − 2Δ_o| < ``window`` (parabolic refinement of the
    grid maximum); FWHM = V_r − V_l, the crossings of G = G(V_p)/2 on either side (linear
    interpolation; half maximum measured from G = 0).

    Returns
    -------
    (float, float)
        (V_peak, fwhm); NaN if the window holds no interior maximum; NaN fwhm if a half-maximum
        crossing is missing.
    """
    V = np.asarray(V, float)
    G = np.asarray(G, float)
    order = np.argsort(V)
    V, G = V[order], G[order]
    idx = np.nonzero(np.abs(V - 2 * delta_o) < window)[0]
    if idx.size == 0:
        return math.nan, math.nan
    i0 = idx[np.argmax(G[idx])]
    if i0 in (idx[0], idx[-1]):  # maximum on the window edge: no coherence peak inside
        return math.nan, math.nan
    vp, gp = V[i0], G[i0]
    if 0 < i0 < V.size - 1:
        x = V[i0 - 1:i0 + 2]
        y = G[i0 - 1:i0 + 2]
        c = np.polyfit(x - V[i0], y, 2)
        if c[0] < 0:
            dx = -c[1] / (2 * c[0])
            if abs(dx) <= (x[2] - x[0]) / 2:
                vp = V[i0] + dx
                gp = np.polyval(c, dx)
    half = gp / 2.0
    vl = vr = math.nan
    j = i0
    while j > 0 and G[j - 1] >= half:
        j -= 1
    if j > 0:
        vl = V[j - 1] + (half - G[j - 1]) * (V[j] - V[j - 1]) / (G[j] - G[j - 1])
    j = i0
    while j < V.size - 1 and G[j + 1] >= half:
        j += 1
    if j < V.size - 1:
        vr = V[j] + (half - G[j]) * (V[j + 1] - V[j]) / (G[j + 1] - G[j])
    return float(vp), float(vr - vl)


def dos_ag(E, delta_h: float, alpha: float, gamma0: float = 0.01) -> np.ndarray:
    """Abrikosov–Gor'kov DOS: n = Re[u/√(1+u²)], u = w/Δ_h + (α/Δ_h) u/√(1+u²), w = −i(E + iγ0).

    Solved by Newton iteration from the BCS value (spec §3.1, strong-SOC limit of B ⊥ c).
    """
    E = np.asarray(E, float)
    w = -1j * (E + 1j * gamma0)
    z = alpha / delta_h
    u = w / delta_h
    for _ in range(200):
        s = np.sqrt(1 + u * u)
        F = u - w / delta_h - z * u / s
        dF = 1 - z / s ** 3
        un = u - F / dF
        if np.abs(un - u).max() < 1e-14:
            u = un
            break
        u = un
    return np.real(u / np.sqrt(1 + u * u))
