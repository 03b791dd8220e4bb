"""Linearised gap equation (Δ → 0): singlet kernels and their closed forms.

Equations: ``docs/model.md#field-perpendicular-to-c`` (the kernel 𝒟 and the cubic),
``docs/model.md#field-parallel-to-c`` (Pauli limit), ``docs/model.md#critical-field``.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from isingflow.model.frequencies import matsubara, matsubara_sum, omega_cutoff
from isingflow.model.params import ModelParams, is_in_plane_angle

_HALVES = (1, -1)


def inv_kernel_const(om: np.ndarray, B, phi_B: float, delta_soc: float, eta: float,
                     eta_mag=(0.0, 0.0, 0.0), r0: float = 0.0, rm: float = 0.0) -> np.ndarray:
    """𝒟(ω) for in-plane B = B(cos φ, sin φ, 0), constant |Δ_SOC| (exact).

    ``B`` may be an array; it broadcasts against ``om`` as ``B[..., None]``.
    The singlet kernel is f_s/Δ = 1/𝒟 (``docs/model.md#field-perpendicular-to-c``).
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


def _half_inverse_averages(om: np.ndarray, p: ModelParams) -> list[np.ndarray]:
    """Average of M_k⁻¹ over each half (h = +, −) of the Fermi surface, each (nw, 4, 4).

    M_k = ω̃ I + K_k acts on (f0, f_x, f_y, f_z): iB couples f0 and f, Δ_SOC(k) rotates f about ẑ.
    """
    dk, wk, hk = p.kpoints()
    B = p.B * p.bhat
    wt = om + p.eta + p.gamma_m
    K = np.zeros((dk.size, 4, 4), complex)
    for a in range(3):
        K[:, 0, a + 1] = 1j * B[a]
        K[:, a + 1, 0] = 1j * B[a]
    K[:, 1, 2] = dk
    K[:, 2, 1] = -dk
    Minv = np.linalg.inv(wt[:, None, None, None] * np.eye(4) + K[None])  # (nw, nk, 4, 4)
    out = []
    for h in _HALVES:
        sel = hk == h
        out.append(np.einsum("k,wkij->wij", wk[sel] / wk[sel].sum(), Minv[:, sel]))
    return out


def _born_blocks(p: ModelParams) -> tuple[np.ndarray, np.ndarray]:
    """Self-energy coefficients (C_same, C_opp): Σ = C_same F̄_same + C_opp F̄_opp.

    S_a flips the sign of f0 and f_a (the magnetic vertex τzσ_a … τzσ_a on the anomalous block).
    """
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
    return C_same, C_opp


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
    nw = om.size
    A = _half_inverse_averages(om, p)
    C_same, C_opp = _born_blocks(p)
    big = np.zeros((nw, 8, 8), complex)
    rhs = np.zeros((nw, 8), complex)
    for ih in range(2):
        big[:, 4 * ih:4 * ih + 4, 4 * ih:4 * ih + 4] = np.eye(4) - A[ih] @ C_same
        big[:, 4 * ih:4 * ih + 4, 4 * (1 - ih):4 * (1 - ih) + 4] = -A[ih] @ C_opp
        rhs[:, 4 * ih:4 * ih + 4] = 1j * A[ih][:, :, 0]  # iΔ e0 with Δ = 1
    X = np.linalg.solve(big, rhs[..., None])[..., 0]
    _, wk, hk = p.kpoints()
    wh = np.array([wk[hk == h].sum() for h in _HALVES])
    f0 = wh[0] * X[:, 0] + wh[1] * X[:, 4]
    return -1j * f0


def linearised_residual(B, t: float, p: ModelParams, om: np.ndarray | None = None) -> np.ndarray:
    """L(B) = 2πt Σ[1/ω_n − Re(f_s/Δ)_lin] + tail − ln(1/t); L < 0 ⇔ normal state unstable."""
    if om is None:
        om = matsubara(t, omega_cutoff(p.delta_soc))
    Bs = np.atleast_1d(np.asarray(B, float))
    if p.soc == "const" and (is_in_plane_angle(p.theta_B) or p.B == 0):
        Dinv = inv_kernel_const(om, Bs, p.phi_B, p.delta_soc, p.eta, p.eta_mag, p.r0, p.rm)
        k = np.real(1.0 / Dinv)
    else:
        k = np.stack([np.real(linear_kernel(om, dataclasses.replace(p, B=float(b)))) for b in Bs])
    return matsubara_sum(om, 1.0 / om[None, :] - k, t, 2 * p.gamma_m) - math.log(1.0 / t)


# --------------------------------------------------------------------------------------------
# Closed forms (used for checks and Table I)
def pauli_linear_residual(B: float, t: float) -> float:
    """ln(1/t) − [Re ψ(½ + iB/2πt) − ψ(½)]: linearised Pauli limit for B ∥ c (zero at B_c)."""
    return math.log(1.0 / t) - (float(np.real(special.digamma(0.5 + 1j * B / (2 * math.pi * t))))
                                - float(special.digamma(0.5)))


def pair_breaking_roots(B: float, delta_soc: float, eta: float) -> tuple[np.ndarray, np.ndarray]:
    """Roots −z_j of ω³ + ηω² + ρ²ω + ηB² and their weights A_j (r0 = 0, scalar η only).

    1/𝒟(ω) = Σ_j A_j/(ω + z_j); the root of smallest modulus is the Table I pair-breaking rate
    α ≈ ηB²/(B² + Δ_SOC²) (``docs/model.md#field-perpendicular-to-c``).  Returned sorted by |z|.
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
