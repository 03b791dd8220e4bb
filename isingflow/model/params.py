"""Model parameters and the field-direction tests that choose a solver.

Conventions: ``docs/model.md#units-and-conventions``; disorder rates and r0, rm:
``docs/model.md#disorder``; which cases have exact closed forms:
``docs/model.md#exact-reduced-solutions``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def model_params(B=0.0, theta_B=0.0, phi_B=0.0, delta_soc=20.0, eta=1.0, eta_mag=(0.0, 0.0, 0.0),
                 soc: str = "const", r0=0.0, rm=0.0, n_quad=160) -> ModelParams:
    """:class:`ModelParams` from plain numbers (NumPy scalars and integers converted)."""
    return ModelParams(B=float(B), theta_B=float(theta_B), phi_B=float(phi_B),
                       delta_soc=float(delta_soc), eta=float(eta), eta_mag=tuple(eta_mag), soc=soc,
                       r0=float(r0), rm=float(rm), n_quad=int(n_quad))


# --------------------------------------------------------------------------------------------
# Direction tests
_ANG_TOL = 1e-12


def _is_multiple(x: float, period: float) -> bool:
    r = np.remainder(x, period)
    return min(r, period - r) < _ANG_TOL


def is_in_plane_angle(theta: float) -> bool:
    """θ_B = π/2 modulo π (the field lies in the plane, whatever its size)."""
    return _is_multiple(theta - np.pi / 2, np.pi)


def field_is_out_of_plane(p: ModelParams) -> bool:
    return p.B == 0.0 or _is_multiple(p.theta_B, np.pi)


def field_is_in_plane(p: ModelParams) -> bool:
    return p.B > 0.0 and is_in_plane_angle(p.theta_B)


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
