"""Γ-pocket Ising superconductor with exchange field, disorder and S–FI–S tunnelling.

Reproduces the model-Hamiltonian half of Wickramaratne, Haim, Khodas, Mazin, PRB 104, L060501
(2021); the physics (Hamiltonian, units, equations, approximations) is written out in
``docs/model.md``.

Units and conventions (``docs/model.md#units-and-conventions``)
---------------------------------------------------------------
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

Modules
-------
:mod:`~isingflow.model.params` the parameters and the choice of solver;
:mod:`~isingflow.model.nambu` the Nambu algebra and the matrix sign;
:mod:`~isingflow.model.general` the general 4×4 self-consistent solver;
:mod:`~isingflow.model.reduced` the exact reduced closed forms (B ∥ c; B ⊥ c with r0 = 0),
vectorised over all frequencies;
:mod:`~isingflow.model.frequencies` Matsubara frequencies, sums with their tail, the BCS gap;
:mod:`~isingflow.model.gap` the gap equation at finite Δ;
:mod:`~isingflow.model.linear` the linearised kernels and their closed forms;
:mod:`~isingflow.model.critical` B_c(T, φ_B) and T_c;
:mod:`~isingflow.model.density_of_states` the retarded, spin-resolved DOS;
:mod:`~isingflow.model.spectra` the S–FI–S conductance and the peak analysis;
:mod:`~isingflow.model.hysteresis` the defect-moment flop estimate;
:mod:`~isingflow.model.stage` the pipeline's tables (Fig. 2, Fig. 3b, Table I, hysteresis).
"""
from isingflow.model.critical import critical_field, tc
from isingflow.model.density_of_states import dos, dos_ag, strong_soc_parameters
from isingflow.model.frequencies import bcs_gap, matsubara
from isingflow.model.gap import gap_residual, order_parameter
from isingflow.model.general import solve_general
from isingflow.model.linear import (
    inv_kernel_const,
    linear_kernel,
    linearised_residual,
    pair_breaking_roots,
    pauli_linear_residual,
)
from isingflow.model.nambu import matrix_sign
from isingflow.model.params import ModelParams
from isingflow.model.reduced import solve_reduced
from isingflow.model.spectra import conductance, peak_and_fwhm

__all__ = [
    "ModelParams", "bcs_gap", "conductance", "critical_field", "dos", "dos_ag", "gap_residual",
    "inv_kernel_const", "linear_kernel", "linearised_residual", "matrix_sign", "matsubara",
    "order_parameter", "pair_breaking_roots", "pauli_linear_residual", "peak_and_fwhm",
    "solve_general", "solve_reduced", "strong_soc_parameters", "tc",
]
