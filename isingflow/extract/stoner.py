"""The Stoner enhancement of a metal from its fixed-spin-moment curve E(M).

E(M) − E(0) = a M² + b M⁴ (M in µB per cell); the spin susceptibility is χ = 1/(2a) (µB²/eV), the
bare (Pauli) one χ₀ = N(E_F) (states/eV per cell, both spins; for rigid bands split by ±h,
M = N h and the band energy grows by M²/2N), and the Stoner enhancement S = χ/χ₀ = 1/(2aN).
S → ∞ at the Stoner threshold; a ≤ 0 means the non-magnetic state is unstable (ferromagnet).
The Stoner product I·N_σ(E_F) = 1 − 1/S (N_σ = N/2 per spin).  Definitions: docs/dft.md.
"""
from __future__ import annotations

import math
from typing import Sequence, TypedDict

import numpy as np


class StonerFit(TypedDict):
    a_eV_per_muB2: float
    b_eV_per_muB4: float
    chi_muB2_per_eV: float | None          # None where a ≤ 0
    chi_pauli_muB2_per_eV: float
    stoner_enhancement: float               # inf where a ≤ 0
    stoner_product: float                   # I·N_σ(E_F) = 1 − 1/S
    ferromagnetic_instability: bool
    n_points: int
    max_residual_meV: float


def stoner_enhancement(moment_muB: Sequence[float], energy_eV: Sequence[float],
                       dos_at_fermi_per_eV: float) -> StonerFit:
    """Fit E(M) = E0 + a M² (+ b M⁴ with four or more points) and compare χ with N(E_F)."""
    M = np.asarray(moment_muB, dtype=float)
    E = np.asarray(energy_eV, dtype=float)
    if len(np.unique(M)) < 3:
        raise ValueError("a fixed-spin-moment curve needs at least three distinct moments")
    cols = [np.ones_like(M), M ** 2] + ([M ** 4] if len(M) >= 4 else [])
    X = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(X, E, rcond=None)
    a = float(coef[1])
    b = float(coef[2]) if len(coef) > 2 else 0.0
    resid = E - X @ coef
    chi0 = float(dos_at_fermi_per_eV)
    unstable = a <= 0
    S = math.inf if unstable else 1.0 / (2 * a * chi0)
    return StonerFit(a_eV_per_muB2=a, b_eV_per_muB4=b, chi_muB2_per_eV=None if unstable else 1 / (2 * a),
                     chi_pauli_muB2_per_eV=chi0, stoner_enhancement=S,
                     stoner_product=1.0 if unstable else 1.0 - 1.0 / S, ferromagnetic_instability=bool(unstable),
                     n_points=int(len(M)), max_residual_meV=float(1000 * np.max(np.abs(resid))))
