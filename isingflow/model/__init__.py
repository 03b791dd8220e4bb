"""Γ-pocket Ising superconductor with exchange field, disorder and S–FI–S tunnelling.

Reproduces the model-Hamiltonian half of Wickramaratne, Haim, Khodas, Mazin, PRB 104, L060501
(2021); every formula is specified in ``physics_model.md`` (the project's physics spec).

Units and conventions
---------------------
* Energies (E, eV, Δ, B, Δ_SOC, η, η_a, γ0) and temperatures are in units of the clean zero-field
  critical temperature Tc0, with k_B = ħ = 1 (t = T/Tc0).
* B is the exchange/Zeeman *energy* entering as +B·σ (band splitting 2B; λ_ex = 2B).
* Angles in radians: ``theta_B`` is the polar angle of the field from c (0: B ∥ c, π/2: in plane),
  ``phi_B`` the in-plane azimuth from x.
* ``eta`` is the scalar Born rate η = π n_i N0 u² = 1/(2τ); ``eta_mag = (η_x, η_y, η_z)`` are the
  magnetic-impurity rates along each easy axis (AG pair breaking 2Σ_a η_a at B = 0).
* ``soc = "const"`` (Δ_SOC sgn cos 3θ, the default) or ``"cos3theta"`` (nodal).
* ``r0``, ``rm`` = W_same − W_opp of scalar and magnetic scattering (0 = point-like, 1 = no
  scattering between opposite-SOC halves of the Fermi surface).

Public API
----------
order_parameter(T, B, theta_B=0, phi_B=0, delta_soc=20, eta=1, eta_mag=(0,0,0), soc="const", r0=0, rm=0)
critical_field(T, phi_B, delta_soc=20, eta=0, eta_mag=(0,0,0), soc="const", r0=0, rm=0)
dos(E, T, B, theta_B=0, phi_B=0, delta_soc=20, eta=1, gamma0=0.01, ...)  -> shape (2, len(E))
conductance(V, T, B, theta_B=0, phi_B=0, delta_soc=20, eta=1, gamma0=0.01, spin_filter=(0.5, 0.5), ...)
peak_and_fwhm(V, G, delta_o) -> (V_peak, fwhm)

Solvers
-------
The exact quasiclassical Green function is the matrix sign of a 4×4 Nambu matrix, averaged over
the Fermi surface self-consistently (Born disorder).  :mod:`isingflow.model.core` holds the
general 4×4 solver and exact reduced closed forms (B ∥ c; B ⊥ c with r0 = 0) that are
vectorised over all frequencies; :mod:`isingflow.model.gap` the gap equation, the exact
linearised kernels and critical fields; :mod:`isingflow.model.spectra` the retarded DOS, the
S–FI–S conductance and the peak analysis; :mod:`isingflow.model.hysteresis` the §5 estimate.
"""
from isingflow.model.core import ModelParams, matrix_sign, solve_general, solve_reduced
from isingflow.model.gap import (bcs_gap, critical_field, gap_residual, inv_kernel_const,
                                 linear_kernel, linearised_residual, matsubara, order_parameter,
                                 pair_breaking_roots, pauli_linear_residual, strong_soc_parameters,
                                 tc)
from isingflow.model.spectra import conductance, dos, dos_ag, peak_and_fwhm

__all__ = [
    "ModelParams", "bcs_gap", "conductance", "critical_field", "dos", "dos_ag", "gap_residual",
    "inv_kernel_const", "linear_kernel", "linearised_residual", "matrix_sign", "matsubara",
    "order_parameter", "pair_breaking_roots", "pauli_linear_residual", "peak_and_fwhm",
    "solve_general", "solve_reduced", "strong_soc_parameters", "tc",
]
