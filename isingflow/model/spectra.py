"""S–FI–S tunnelling conductance and the coherence-peak analysis.

Formula: ``docs/model.md#tunnelling-conductance``; peak position and FWHM:
``docs/model.md#peak-position-and-width``.  Symmetric S–FI–S junction with the same exchange
field in both layers and spin-conserving, momentum-averaged tunnelling:

    I(V) = (G_N/e) Σ_s w_s ∫ dE n_s(E) n_s(E + eV) [f(E) − f(E + eV)],   Σ_s w_s = 1,

evaluated on a uniform energy grid as two FFT cross-correlations; dI/dV by central differences,
normalised to G_N (→ 1 for |eV| ≫ Δ).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from isingflow.model.density_of_states import dos_at
from isingflow.model.gap import order_parameter_for
from isingflow.model.params import ModelParams, model_params


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
    current = np.zeros(2 * jmax + 1)
    for s, ws in enumerate(spin_filter):
        if ws == 0.0:
            continue
        ns = n[s]
        nf = ns * f
        current += ws * de * (_xcorr(nf, ns, jmax) - _xcorr(ns, nf, jmax))
    return current


def _current(vmax: float, T: float, delta: float, p: ModelParams, gamma0: float, spin_filter,
             de: float, e_max: float, tol: float, maxit: int, margin: int) -> tuple[np.ndarray, int]:
    """(I(V_j), jmax) for j = −jmax..jmax, jmax = ⌈vmax/de⌉ + margin.

    The energy grid E_i = i·de covers [−L, L], L = max(e_max, vmax + 20T + 1), so that the Fermi
    window of every bias lies inside it.
    """
    L = max(e_max, vmax + 20.0 * T + 1.0)
    m = int(math.ceil(L / de))
    E = de * np.arange(-m, m + 1)
    n = dos_at(E, float(delta), p, gamma0, tol, maxit)
    jmax = int(math.ceil(vmax / de)) + margin
    return current_from_dos(n, de, T, E, jmax, spin_filter), jmax


def conductance(V, T: float, B: float, theta_B: float = 0.0, phi_B: float = 0.0,
                delta_soc: float = 20.0, eta: float = 1.0, gamma0: float = 0.01,
                spin_filter=(0.5, 0.5), eta_mag=(0.0, 0.0, 0.0), soc: str = "const",
                r0: float = 0.0, rm: float = 0.0, *, delta: float | None = None,
                n_quad: int = 160, de: float | None = None, e_max: float = 8.0,
                tol: float = 1e-10, maxit: int = 6000) -> np.ndarray:
    """Normalised S–FI–S differential conductance dI/dV / G_N.

    Parameters
    ----------
    V : array_like
        Bias eV (units of Tc0).
    T : float
        Temperature (Fermi functions, and Δ_o unless ``delta`` is given).
    B, theta_B, phi_B, delta_soc, eta, gamma0, eta_mag, soc, r0, rm, n_quad :
        As in :func:`isingflow.model.dos`.
    spin_filter : (float, float)
        Tunnelling weights (w_+, w_−) for spin along ±B̂; must sum to 1.
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
    p = model_params(B, theta_B, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad)
    if delta is None:
        delta = order_parameter_for(float(T), p)
    de = float(de or gamma0 / 10.0)
    vmax = float(np.max(np.abs(V))) if V.size else 0.0
    current, jmax = _current(vmax, T, delta, p, gamma0, w, de, e_max, tol, maxit, margin=2)
    Vg = de * np.arange(-jmax, jmax + 1)
    G = np.gradient(current, de)  # central differences inside
    return np.interp(V, Vg[1:-1], G[1:-1])


def conductance_grid(vmax: float, T: float, delta: float, p: ModelParams, gamma0: float = 0.01,
                     spin_filter=(0.5, 0.5), de: float | None = None, e_max: float = 8.0,
                     tol: float = 1e-10, maxit: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    """(V, G) on the native bias grid V_j = j·de, 0 ≤ V ≤ vmax (no interpolation)."""
    de = float(de or gamma0 / 10.0)
    current, jmax = _current(vmax, T, delta, p, gamma0, spin_filter, de, e_max, tol, maxit, margin=1)
    G = (current[2:] - current[:-2]) / (2 * de)  # j = −jmax+1 .. jmax−1
    Vg = de * np.arange(-jmax + 1, jmax)
    keep = (Vg >= -1e-12) & (Vg <= vmax + 1e-12)
    return Vg[keep], G[keep]


def _refine_peak(V: np.ndarray, G: np.ndarray, i0: int) -> tuple[float, float]:
    """Parabola through the grid maximum and its neighbours: (V_p, G(V_p))."""
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
    return vp, gp


def _half_max_crossings(V: np.ndarray, G: np.ndarray, i0: int, half: float) -> tuple[float, float]:
    """(V_l, V_r): where G falls below ``half`` on either side of i0 (linear interpolation; NaN if not)."""
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
    return vl, vr


def peak_and_fwhm(V, G, delta_o: float, window: float = 0.5) -> tuple[float, float]:
    """Coherence-peak position and full width at half maximum.

    V_p is the maximum of G in the window |eV − 2Δ_o| < ``window`` (parabolic refinement of the
    grid maximum); FWHM = V_r − V_l, the crossings of G = G(V_p)/2 on either side (linear
    interpolation; half maximum measured from G = 0).  See ``docs/model.md#peak-position-and-width``.

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
    vp, gp = _refine_peak(V, G, i0)
    vl, vr = _half_max_crossings(V, G, i0, gp / 2.0)
    return float(vp), float(vr - vl)
