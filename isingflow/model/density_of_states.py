"""Real-frequency, spin-resolved density of states (``docs/model.md#density-of-states``).

Retarded functions: ω → −i(E + iγ0) in Q_k, with ⟨ĝ^R⟩ self-consistent at every energy.
Spin-resolved DOS along B̂ (per spin, normalised to 1 in the normal state):
ρ(E) = ½[ĝ^R_ee + (ĝ^R_ee)†], n_s(E) = ⟨s|ρ(E)|s⟩, |s⟩ the eigenstates of B̂·σ.
"""
from __future__ import annotations

import math

import numpy as np

from isingflow.model.gap import order_parameter_for
from isingflow.model.general import solve_general
from isingflow.model.nambu import spin_projector
from isingflow.model.params import ModelParams, model_params, reduced_path
from isingflow.model.reduced import solve_reduced


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
    out = [np.real(np.einsum("...ij,ji->...", gee, spin_projector(p.bhat, s))) for s in (1, -1)]
    return np.array(out)


def dos(E, T: float, B: float, theta_B: float = 0.0, phi_B: float = 0.0, delta_soc: float = 20.0,
        eta: float = 1.0, gamma0: float = 0.01, eta_mag=(0.0, 0.0, 0.0), soc: str = "const",
        r0: float = 0.0, rm: float = 0.0, *, delta: float | None = None, n_quad: int = 160,
        tol: float = 1e-10, maxit: int = 6000, solver: str = "auto") -> np.ndarray:
    """Spin-resolved density of states along B̂.

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
    p = model_params(B, theta_B, phi_B, delta_soc, eta, eta_mag, soc, r0, rm, n_quad)
    if delta is None:
        delta = order_parameter_for(float(T), p)
    return dos_at(np.atleast_1d(E), float(delta), p, gamma0, tol, maxit, solver)


# --------------------------------------------------------------------------------------------
# Strong-SOC approximation for B ⊥ c (``docs/model.md#field-perpendicular-to-c``)
def strong_soc_parameters(delta: float, B: float, delta_soc: float, eta: float) -> tuple[float, float]:
    """Helical-band projected gap Δ_h = Δ cos θ_s and AG rate α = η sin²θ_s, tan θ_s = B/Δ_SOC."""
    th = math.atan2(B, delta_soc)
    return delta * math.cos(th), eta * math.sin(th) ** 2


def dos_ag(E, delta_h: float, alpha: float, gamma0: float = 0.01) -> np.ndarray:
    """Abrikosov–Gor'kov DOS: n = Re[u/√(1+u²)], u = w/Δ_h + (α/Δ_h) u/√(1+u²), w = −i(E + iγ0).

    Solved by Newton iteration from the BCS value (the strong-SOC limit of B ⊥ c).
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
