"""Nambu–spin algebra and the matrix sign function (``docs/model.md#quasiclassical-green-function``).

Nambu basis Ψ_k = (c_k↑, c_k↓, c†_−k↓, −c†_−k↑); 4×4 matrices are ``kron(τ_i, σ_j)`` (τ outer,
σ inner), so the upper-left 2×2 block is the electron block.
"""
from __future__ import annotations

import numpy as np

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


def bcs_matrix(w, delta) -> np.ndarray:
    """BCS ĝ = (τz ω − Δ τy)/√(ω² + Δ²), shape w.shape + (4, 4)."""
    R = np.sqrt(w * w + delta * delta)
    return (w / R)[..., None, None] * TZ - (delta / R)[..., None, None] * TY


def spin_projector(bhat: np.ndarray, s: int) -> np.ndarray:
    """2×2 projector (1 + s B̂·σ)/2 on the spin along s·B̂ (s = ±1)."""
    sb = np.array([[bhat[2], bhat[0] - 1j * bhat[1]], [bhat[0] + 1j * bhat[1], -bhat[2]]])
    return 0.5 * (np.eye(2) + s * sb)
