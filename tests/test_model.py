"""Model stage: the reference numbers and checks of ``docs/model.md#reference-numbers-checked-by-the-tests``.

Energies in units of Tc0.  Reference numbers appear only here (never in the code that produces
outputs); tolerances: Δo 1e-4 relative, B_c 1e-3, V_p 1e-3, FWHM ratios 2 %.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, special

import isingflow.model as m
from isingflow.model.frequencies import matsubara
from isingflow.model.gap import condensation_energy, gap_residual
from isingflow.model.general import solve_general
from isingflow.model.linear import linear_kernel, linearised_residual
from isingflow.model.nambu import TY, TZ, pauli
from isingflow.model.params import ModelParams, reduced_path
from isingflow.model.reduced import solve_reduced
from isingflow.model.spectra import conductance_grid, peak_and_fwhm

PI2 = math.pi / 2
T_FIG2 = 0.5
B_FIG2 = (0.225, 0.45, 0.67)


def rel(a, b):
    return abs(a - b) / abs(b)


# ------------------------------------------------------------------------------------------
# BCS and Anderson's theorem (docs/model.md#gap-equation)
@pytest.mark.parametrize("t, ref", [(0.2, 1.763660), (0.5, 1.687827), (0.7, 1.461850), (0.9, 0.928402)])
def test_bcs_gap_table(t, ref):
    assert abs(m.bcs_gap(t) - ref) < 1.5e-6


def test_bcs_zero_temperature_limit():
    assert abs(m.bcs_gap(0.05) - math.pi * math.exp(-np.euler_gamma)) < 1e-8
    assert abs(math.pi * math.exp(-np.euler_gamma) - 1.763877) < 1e-6


@pytest.mark.parametrize("kw", [dict(eta=2.5, delta_soc=5.0),
                                dict(eta=0.7, delta_soc=12.0, soc="cos3theta", n_quad=8),
                                dict(eta=1.3, r0=0.6, delta_soc=20.0)])
def test_anderson_theorem_full_solver(kw):
    """B = 0: the full 4×4 solver gives the BCS gap for any η, Δ_SOC, SOC shape, r0."""
    t = 0.5
    p = ModelParams(B=0.0, **kw)
    d = m.bcs_gap(t)
    assert abs(gap_residual([d], t, p, omega_max=300, solver="general")[0]) < 1e-9
    assert m.tc(ModelParams(B=0.0, **kw)) == pytest.approx(1.0, abs=1e-9)


# ------------------------------------------------------------------------------------------
# Order parameter tables (docs/model.md#reference-numbers-checked-by-the-tests)
@pytest.mark.parametrize("B, ref", [(0.225, 1.67918), (0.45, 1.64995), (0.67, 1.58880)])
def test_order_parameter_par(B, ref):
    assert rel(m.order_parameter(T_FIG2, B, theta_B=0.0), ref) < 1e-4
    # independent of η and Δ_SOC (docs/model.md#field-parallel-to-c)
    assert rel(m.order_parameter(T_FIG2, B, eta=0.0, delta_soc=3.0), ref) < 1e-4


@pytest.mark.parametrize("B, ref", [(0.225, 1.68703), (0.45, 1.68465), (0.67, 1.68078)])
def test_order_parameter_perp_const(B, ref):
    assert rel(m.order_parameter(T_FIG2, B, theta_B=PI2), ref) < 1e-4


@pytest.mark.parametrize("B, pct", [(0.225, -0.041), (0.45, -0.163), (0.67, -0.361)])
def test_order_parameter_perp_clean_percent(B, pct):
    d0 = m.bcs_gap(T_FIG2)
    d = m.order_parameter(T_FIG2, B, theta_B=PI2, eta=0.0)
    assert abs(100 * (d / d0 - 1) - pct) < 6e-4


@pytest.mark.slow
@pytest.mark.parametrize("B, ref", [(0.225, 1.6852), (0.45, 1.6774), (0.67, 1.6646)])
def test_order_parameter_perp_nodal(B, ref):
    assert rel(m.order_parameter(T_FIG2, B, theta_B=PI2, soc="cos3theta"), ref) < 1e-4


def test_gap_rises_when_field_rotates_in_plane():
    """+0.47 %, +2.10 %, +5.79 % (B⊥c vs B∥c)."""
    for B, pct in zip(B_FIG2, (0.47, 2.10, 5.79)):
        par = m.order_parameter(T_FIG2, B)
        perp = m.order_parameter(T_FIG2, B, theta_B=PI2)
        assert abs(100 * (perp / par - 1) - pct) < 0.01


@pytest.mark.parametrize("kw", [dict(B=0.67, theta_B=0.0, eta=2.0, delta_soc=7.0),
                                dict(B=0.67, theta_B=PI2),
                                dict(B=1.1, theta_B=PI2, eta=0.4, eta_mag=(0.1, 0.0, 0.05)),
                                dict(B=0.5, theta_B=0.0, eta=0.3, eta_mag=(0.05, 0.1, 0.15), r0=0.5, rm=0.3)])
def test_order_parameter_fast_paths_equal_full_solver(kw):
    a = m.order_parameter(T_FIG2, omega_max=150, **kw)
    b = m.order_parameter(T_FIG2, omega_max=150, solver="general", **kw)
    assert abs(a - b) < 1e-9


def test_order_parameter_tilted_field_between_limits():
    """A tilted field (general 4×4 path) suppresses Δo between the in-plane and out-of-plane values."""
    par = m.order_parameter(T_FIG2, 0.67, theta_B=0.0)
    perp = m.order_parameter(T_FIG2, 0.67, theta_B=PI2)
    tilt = m.order_parameter(T_FIG2, 0.67, theta_B=0.6, omega_max=150)
    assert par < tilt < perp


def test_normal_state_returns_zero():
    assert m.order_parameter(1.05, 0.0) == 0.0
    assert m.order_parameter(0.5, 3.0) == 0.0  # far above the Pauli limit
    assert m.order_parameter(0.5, 0.0, eta_mag=(0.0, 0.0, 0.5)) == 0.0  # Tc/Tc0 < 0.5 for 2Γm = 1


# ------------------------------------------------------------------------------------------
# Reduced closed forms versus the 4×4 matrix-sign solver
@pytest.mark.parametrize("kw", [
    dict(B=0.67, theta_B=PI2, eta=1.0),
    dict(B=2.0, theta_B=PI2, phi_B=0.3, eta=0.7, eta_mag=(0.0, 0.0, 0.1)),
    dict(B=2.0, theta_B=PI2, phi_B=PI2, eta=0.7, eta_mag=(0.2, 0.05, 0.1)),
    dict(B=1.3, theta_B=PI2, eta=0.5, soc="cos3theta", n_quad=16),
    dict(B=0.8, theta_B=0.0, eta=0.5, eta_mag=(0.1, 0.2, 0.3), r0=0.4, rm=0.5),
])
def test_reduced_solver_equals_general(kw):
    p = ModelParams(**kw)
    assert reduced_path(p) is not None
    w = np.concatenate([math.pi * 0.3 * (2 * np.arange(6) + 1), -1j * (np.linspace(-3, 3, 25) + 0.02j)])
    r = solve_reduced(w, 1.5, p)
    g = solve_general(w, 1.5, p, tol=1e-12)
    assert r.converged.all() and g.converged.all()
    assert np.abs(r.f_singlet - g.f_singlet).max() < 1e-9
    bh = p.bhat
    sb = np.array([[bh[2], bh[0] - 1j * bh[1]], [bh[0] + 1j * bh[1], -bh[2]]])
    gee = g.average[..., :2, :2]
    for i, s in enumerate((1, -1)):
        gs = np.einsum("...ij,ji->...", gee, 0.5 * (np.eye(2) + s * sb))
        assert np.abs(r.g_spin[i] - gs).max() < 1e-9


@pytest.mark.parametrize("kw", [dict(B=0.67, theta_B=0.6),
                                dict(B=1.5, theta_B=1.2, eta=2.0, eta_mag=(0.1, 0.0, 0.05), r0=0.3, rm=0.8)])
def test_anderson_acceleration_finds_the_mixing_fixed_point(kw):
    """The accelerated 4×4 iteration reaches the same retarded solution as plain linear mixing."""
    p = ModelParams(**kw)
    w = -1j * (np.linspace(-1.9, 1.9, 77) + 0.003j)
    a = solve_general(w, 1.62, p, tol=1e-11)
    b = solve_general(w, 1.62, p, tol=1e-11, anderson=0, maxit=20000)
    assert a.converged.all() and b.converged.all() and a.iterations < b.iterations
    assert np.abs(a.average - b.average).max() < 1e-8


def test_matrix_sign_and_normalisation():
    """ĝ² = 1 at every k; BCS ĝ = (τz ω − Δτy)/√(ω² + Δ²) (docs/model.md#quasiclassical-green-function)."""
    w, d = 1.3, 1.7
    q = w * TZ - d * TY
    assert np.allclose(m.matrix_sign(q), q / math.hypot(w, d), atol=1e-13)
    p = ModelParams(B=0.9, theta_B=0.7, phi_B=0.2, eta=1.0, eta_mag=(0.1, 0.0, 0.2), r0=0.3, rm=0.6)
    g = solve_general(np.array([0.9, -1j * (1.5 + 0.01j)]), 1.5, p)
    assert g.converged.all()
    bv = p.B * p.bhat
    for G in g.G.reshape(-1, 4, 4):  # rebuild one Q_k from a converged half average and check sign²
        Q = 0.9 * TZ + 1j * (20.0 * pauli(0, 3) + sum(bv[a] * pauli(3, a + 1) for a in range(3))) - 1.5 * TY + G
        X = m.matrix_sign(Q)
        assert np.allclose(X @ X, np.eye(4), atol=1e-11)


# ------------------------------------------------------------------------------------------
# Pauli limit, B ∥ c (docs/model.md#field-parallel-to-c)
def test_pauli_linearised_formula_matches_general_kernel():
    for t in (0.3, 0.6, 0.9):
        om = matsubara(t, 1200)
        f = lambda B: linearised_residual(B, t, ModelParams(B=B, theta_B=0.0, eta=0.8, delta_soc=9.0), om)[0]  # noqa: E731
        b1 = optimize.brentq(f, 1e-3, 3.0)
        b2 = optimize.brentq(lambda B: m.pauli_linear_residual(B, t), 1e-3, 3.0)
        assert abs(b1 - b2) < 1e-6


def _b_lin(t):
    om = matsubara(t, 1200)
    return optimize.brentq(lambda B: linearised_residual(B, t, ModelParams(B=B, theta_B=0.0), om)[0], 0.01, 3.0)


def test_tricritical_point():
    """t* = 0.5615, B* = 1.0728 = 0.608 Δ(0): the Δ⁴ coefficient on the second-order line changes sign."""
    quartic = lambda t: gap_residual([0.02], t, ModelParams(B=_b_lin(t), theta_B=0.0))[0]  # noqa: E731
    ts = optimize.brentq(quartic, 0.45, 0.7, xtol=1e-7)
    assert abs(ts - 0.5615) < 5e-4
    assert abs(_b_lin(ts) - 1.0728) < 1e-3
    assert abs(_b_lin(ts) / m.bcs_gap(0.02) - 0.608) < 1e-3


def test_clogston_and_supercooling_fields():
    """T → 0: thermodynamic (Clogston) field Δ(0)/√2 = 1.2472, supercooling field Δ(0)/2 = 0.8819.

    Both extrapolated from two low temperatures (corrections ∝ t²).
    """
    def clogston(t):
        return optimize.brentq(lambda B: condensation_energy(t, ModelParams(B=B, theta_B=0.0)), 1.1, 1.4, xtol=1e-9)

    b2 = [clogston(t) ** 2 for t in (0.04, 0.02)]
    assert abs(math.sqrt((4 * b2[1] - b2[0]) / 3) - 1.2472) < 2e-4
    bl = [_b_lin(t) for t in (0.04, 0.02)]
    assert abs((4 * bl[1] - bl[0]) / 3 - 0.8819) < 2e-4


def test_condensation_energy_bcs():
    """Ω_s − Ω_n = −N0Δ²/2 + π²T²/3 (normal-state entropy term) at low T."""
    t = 0.05
    assert condensation_energy(t, ModelParams()) == pytest.approx(-m.bcs_gap(t) ** 2 / 2 + math.pi ** 2 * t ** 2 / 3,
                                                                  abs=1e-6)


# ------------------------------------------------------------------------------------------
# Linearised kernels and the cubic (docs/model.md#field-perpendicular-to-c)
def _random_params(rng, tilted=False, soc="const"):
    return ModelParams(B=3 * rng.random(), theta_B=rng.random() * math.pi if tilted else PI2,
                       phi_B=rng.random() * 2 * math.pi, delta_soc=1 + 20 * rng.random(), eta=rng.random(),
                       eta_mag=tuple(0.4 * rng.random(3)), soc=soc, r0=rng.random(), rm=rng.random(), n_quad=8)


def test_linear_kernels_agree_with_4x4_solver():
    rng = np.random.default_rng(7)
    om = math.pi * 0.3 * (2 * np.arange(6) + 1)
    for i in range(6):
        p = _random_params(rng, tilted=i >= 3, soc="cos3theta" if i % 2 else "const")
        lin = linear_kernel(om, p)
        full = solve_general(om, 1e-6, p, tol=1e-13).f_singlet / 1e-6
        assert np.abs(full - lin).max() / np.abs(lin).max() < 1e-4
        if p.soc == "const" and i < 3:  # the closed-form 𝒟 (docs/model.md#field-perpendicular-to-c)
            D = m.inv_kernel_const(om, p.B, p.phi_B, p.delta_soc, p.eta, p.eta_mag, p.r0, p.rm)
            assert np.abs(1 / D - lin).max() < 1e-12


def test_magnetic_kernel_b_parallel_c():
    """B ∥ c: 1/𝒟 = 1/[ω + 2Γm + B²/(ω + 2η_z)], independent of η, r and Δ_SOC."""
    om = math.pi * 0.4 * (2 * np.arange(8) + 1)
    em = (0.1, 0.2, 0.15)
    ref = 1 / (om + 2 * sum(em) + 1.3 ** 2 / (om + 2 * em[2]))
    for kw in (dict(eta=0.0, delta_soc=20.0), dict(eta=2.0, delta_soc=3.0, r0=0.7, rm=0.4, soc="cos3theta", n_quad=8)):
        lin = linear_kernel(om, ModelParams(B=1.3, theta_B=0.0, eta_mag=em, **kw))
        assert np.abs(lin - ref).max() < 1e-12


def test_pair_breaking_root_is_table1_rate():
    z, A = m.pair_breaking_roots(0.67, 20.0, 1.0)
    alpha = 0.67 ** 2 / (0.67 ** 2 + 400)
    assert abs(z[0].real - 0.00112) < 5e-6 and abs(z[0].imag) < 1e-12
    assert abs(z[0].real / alpha - 1) < 1e-3
    assert abs(A[0].real - 0.99888) < 5e-6
    assert abs(A.sum() - 1) < 1e-12
    # the other two: ≈ ηD²/2ρ² ± iρ with weight ≈ sin²θ_s/2 each
    rho = math.hypot(0.67, 20.0)
    assert abs(abs(z[1].imag) / rho - 1) < 1e-3 and abs(z[1].real - 400 / (2 * rho ** 2)) < 1e-3
    assert abs(A[1].real - 0.5 * (0.67 / rho) ** 2) < 1e-4


def test_cubic_closed_form_gives_same_bc():
    """ln(1/t) = Σ A_j[ψ(½ + z_j/2πt) − ψ(½)] and the Matsubara sum give the same B_c (7.975)."""
    t, eta, D = 0.5, 1.0, 20.0

    def closed(B):
        z, A = m.pair_breaking_roots(B, D, eta)
        s = np.sum(A * (special.digamma(0.5 + z / (2 * math.pi * t)) - special.digamma(0.5)))
        return math.log(1 / t) - s.real

    b_closed = optimize.brentq(closed, 1.0, 20.0, xtol=1e-10)
    b_sum = m.critical_field(t, 0.0, delta_soc=D, eta=eta)
    assert abs(b_closed - b_sum) < 1e-6
    assert abs(b_sum - 7.975) < 1e-3


# ------------------------------------------------------------------------------------------
# Critical fields (docs/model.md#critical-field, Fig. 3b)
BC_TABLE = [  # (eta, easy axis, rm, phi_deg, ref)
    (0.0, 0, 0.0, 0, 7.516), (0.0, 0, 0.0, 90, 7.495),
    (0.0, 0, 1.0, 0, 7.976), (0.0, 0, 1.0, 90, 7.116),
    (0.0, 2, 0.0, 0, 7.495), (0.0, 2, 1.0, 0, 7.953),
    (1.0, 0, 0.0, 0, 6.290), (1.0, 0, 1.0, 0, 6.534),
    (1.0, 0, 0.0, 90, 6.272), (1.0, 0, 1.0, 90, 6.055),
]


@pytest.mark.parametrize("eta, axis, rm, phi, ref", BC_TABLE)
def test_critical_field_table(eta, axis, rm, phi, ref):
    em = [0.0, 0.0, 0.0]
    em[axis] = 0.25
    assert abs(m.critical_field(0.2, math.radians(phi), eta=eta, eta_mag=tuple(em), rm=rm) - ref) < 1e-3


@pytest.mark.parametrize("eta, ref", [(0.0, 13.927), (1.0, 10.804)])
def test_critical_field_no_magnetic(eta, ref):
    assert abs(m.critical_field(0.2, 0.0, eta=eta) - ref) < 1e-3


def test_critical_field_shape():
    """π-periodic, extrema at 0° and 90°, easy y = easy x rotated by 90°, z isotropic; ratios 1.0028 / 1.121."""
    phis = np.radians([0, 30, 60, 90, 120, 150, 180, 210])
    for rm, ratio in ((0.0, 1.0028), (1.0, 1.121)):
        bx = np.array([m.critical_field(0.2, ph, eta_mag=(0.25, 0, 0), rm=rm) for ph in phis])
        by = np.array([m.critical_field(0.2, ph + PI2, eta_mag=(0, 0.25, 0), rm=rm) for ph in phis])
        bz = np.array([m.critical_field(0.2, ph, eta_mag=(0, 0, 0.25), rm=rm) for ph in phis])
        assert np.allclose(bx, by, atol=1e-8)
        assert np.ptp(bz) < 1e-8
        assert abs(bx[6] - bx[0]) < 1e-8 and abs(bx[7] - bx[1]) < 1e-8  # period π
        assert abs(bx[1] - bx[5]) < 1e-8  # mirror symmetric about 0
        assert bx[0] == bx.max() and bx[3] == bx.min()  # B ∥ moment has the larger B_c
        assert abs(bx[0] / bx[3] - ratio) < 1.5e-3


def test_tc_with_magnetic_impurities():
    assert abs(m.tc(ModelParams(eta_mag=(0.25, 0, 0), eta=0.0)) - 0.5727) < 1e-4
    assert abs(m.tc(ModelParams(eta_mag=(0.125, 0, 0), eta=0.0)) - 0.7967) < 1e-4
    assert m.critical_field(0.6, 0.0, eta_mag=(0.25, 0, 0)) == 0.0  # above Tc


@pytest.mark.slow
@pytest.mark.parametrize("t, eta, ref", [(0.2, 0.0, 8.26), (0.2, 1.0, 5.82), (0.5, 0.0, 4.95), (0.5, 1.0, 4.10)])
def test_critical_field_nodal(t, eta, ref):
    assert abs(m.critical_field(t, 0.0, eta=eta, soc="cos3theta") - ref) < 6e-3


# ------------------------------------------------------------------------------------------
# DOS (docs/model.md#density-of-states)
def test_dos_par_is_shifted_bcs():
    E = np.linspace(-3, 3, 61)
    g0, d, B = 0.01, 1.6, 0.67
    ref = []
    for s in (1, -1):
        z = E - s * B + 1j * g0
        ref.append(np.real(z / (np.sqrt(z - d) * np.sqrt(z + d))))
    for kw in (dict(eta=2.0, delta_soc=5.0), dict(eta=0.3, delta_soc=20.0, soc="cos3theta", n_quad=8)):
        n = m.dos(E, 0.5, B, gamma0=g0, delta=d, solver="general", **kw)
        assert np.abs(n - np.array(ref)).max() < 1e-6


def test_dos_perp_matches_abrikosov_gorkov():
    """Spin-averaged DOS ≈ AG(Δ cos θ_s, η sin²θ_s) to ~1e-3 (8e-4 at B = 0.67)."""
    B, E = 0.67, np.linspace(0, 4, 2001)
    d = m.order_parameter(T_FIG2, B, theta_B=PI2)
    n = m.dos(E, T_FIG2, B, theta_B=PI2, delta=d)
    dh, alpha = m.strong_soc_parameters(d, B, 20.0, 1.0)
    ag = m.dos_ag(E, dh, alpha, 0.01)
    assert np.abs(n.mean(axis=0) - ag).max() < 1.5e-3
    assert abs(n.max() - 5.8) < 0.15


def test_dos_perp_clean_spectral_gap():
    """η = 0: spectral gap Δo Δ_SOC/ρ, ρ = √(B² + Δ_SOC²)."""
    B, D = 0.67, 20.0
    d = m.order_parameter(T_FIG2, B, theta_B=PI2, eta=0.0)
    eg = d * D / math.hypot(B, D)
    n = m.dos(eg * np.array([0.99, 0.999, 1.0005, 1.01]), T_FIG2, B, theta_B=PI2, eta=0.0, gamma0=1e-9, delta=d)
    assert (n[:, :2] < 1e-3).all() and (n[:, 2:] > 1.0).all()


@pytest.mark.parametrize("kw", [dict(theta_B=PI2), dict(theta_B=0.0),
                                dict(theta_B=PI2, phi_B=PI2, eta_mag=(0.2, 0.0, 0.1)),
                                dict(theta_B=0.8, eta_mag=(0.05, 0.0, 0.0))])
def test_dos_symmetry_and_normalisation(kw):
    E = np.concatenate([[-60.0], np.linspace(-3, 3, 121), [60.0]])
    n = m.dos(E, 0.5, 0.67, delta=1.6, **kw)
    assert np.abs(n[0][::-1] - n[1]).max() < 1e-9  # n_{+B̂}(−E) = n_{−B̂}(E)
    assert np.abs(n[:, -1] - 1).max() < 1e-3 and np.abs(n[:, 0] - 1).max() < 1e-3  # n → 1, |E| ≫ Δ
    assert (n > -1e-12).all()


def test_dos_matches_direct_bdg_diagonalisation():
    """Clean B ⊥ c: spin-resolved quasiclassical DOS versus Lorentzian-broadened BdG eigenstates."""
    B, D, d, g0 = 0.67, 20.0, 1.68, 0.02
    xi = np.linspace(-50, 50, 40001)
    E = np.linspace(1.55, 1.8, 26)
    ref = np.zeros((2, E.size))
    for s in (1, -1):
        H = xi[:, None, None] * pauli(3, 0) + s * D * pauli(3, 3) + B * pauli(0, 1) + d * pauli(1, 0)
        w, V = np.linalg.eigh(H)
        for i, sp in enumerate((1, -1)):
            proj = 0.5 * (np.eye(2) + sp * np.array([[0, 1], [1, 0]]))
            wt = np.einsum("kin,ij,kjn->kn", V[:, :2].conj(), proj, V[:, :2]).real
            lor = (g0 / np.pi) / ((E[:, None, None] - w[None]) ** 2 + g0 ** 2)
            ref[i] += 0.5 * np.sum(wt[None] * lor, axis=(1, 2)) * (xi[1] - xi[0])
    n = m.dos(E, 0.5, B, theta_B=PI2, eta=0.0, gamma0=g0, delta=d)
    assert np.abs(n - ref).max() < 2e-3


# ------------------------------------------------------------------------------------------
# Conductance and peaks (docs/model.md#tunnelling-conductance, #peak-position-and-width)
FIG2_PAR = {0.0: (3.3758, 0.0407), 0.225: (3.3585, 0.0408), 0.45: (3.3000, 0.0408), 0.67: (3.1778, 0.0409)}
FIG2_PERP = {0.0: (3.3758, 1.0), 0.225: (3.3724, 1.09), 0.45: (3.3627, 1.33), 0.67: (3.3483, 1.67)}


def _peaks(theta, gamma0, Bs=(0.0,) + B_FIG2, vmax=4.0):
    out = {}
    for B in Bs:
        p = ModelParams(B=B, theta_B=theta)
        d = m.order_parameter(T_FIG2, B, theta_B=theta)
        V, G = conductance_grid(vmax, T_FIG2, d, p, gamma0=gamma0)
        out[B] = (d,) + peak_and_fwhm(V, G, d)
    return out


def test_fig2_peaks_par():
    pk = _peaks(0.0, 0.01)
    for B, (vp, fw) in FIG2_PAR.items():
        d, v, f = pk[B]
        assert abs(v - vp) < 1e-3
        assert abs(f - fw) < 1.5e-4
        assert abs(v - 2 * d) < 2e-4  # a single peak at 2Δo, not Zeeman split
    assert abs(pk[0.67][1] - pk[0.0][1] - (-0.1980)) < 1e-3


def test_fig2_peaks_perp():
    pk = _peaks(PI2, 0.01)
    f0 = pk[0.0][2]
    assert abs(f0 - 0.0407) < 1.5e-4
    for B, (vp, ratio) in FIG2_PERP.items():
        d, v, f = pk[B]
        assert abs(v - vp) < 1e-3
        assert abs(f / f0 / ratio - 1) < 0.02
    assert abs(pk[0.67][1] - pk[0.0][1] - (-0.0275)) < 1e-3
    assert abs(2 * (pk[0.67][0] - pk[0.0][0]) - (-0.0141)) < 1e-4  # Δo part of the shift


@pytest.mark.slow
def test_fig2_peaks_small_gamma0():
    """γ0 = 0.003: B⊥c FWHM ratios 1.47, 2.53, 3.85; B∥c FWHM 0.0121; V_p within ±0.003."""
    par = _peaks(0.0, 0.003)
    perp = _peaks(PI2, 0.003)
    for B in (0.0,) + B_FIG2:
        assert abs(par[B][2] - 0.0121) < 1.5e-4
        assert abs(par[B][1] - FIG2_PAR[B][0]) < 3e-3 and abs(perp[B][1] - FIG2_PERP[B][0]) < 3e-3
    for B, ratio in zip(B_FIG2, (1.47, 2.53, 3.85)):
        assert abs(perp[B][2] / perp[0.0][2] / ratio - 1) < 0.02


def test_conductance_normal_limit_and_spin_filter():
    V = np.array([3.0, 20.0, 40.0])
    g = m.conductance(V, 0.5, 0.3, gamma0=0.05)
    assert abs(g[2] - 1) < 3e-3 and abs(g[2] - 1) < abs(g[1] - 1)
    # B ∥ c: the symmetric junction is insensitive to the spin filter
    V = np.linspace(0, 4, 81)
    ref = m.conductance(V, 0.5, 0.45, gamma0=0.05)
    for w in ((1.0, 0.0), (0.0, 1.0), (0.8, 0.2)):
        assert np.abs(m.conductance(V, 0.5, 0.45, gamma0=0.05, spin_filter=w) - ref).max() < 1e-9
    with pytest.raises(ValueError):
        m.conductance(V, 0.5, 0.45, spin_filter=(0.7, 0.7))


def test_peak_and_fwhm_on_lorentzian():
    V = np.linspace(0, 5, 5001)
    G = 1.0 / (1 + ((V - 3.2137) / 0.02) ** 2) * 10
    vp, fw = peak_and_fwhm(V, G, 1.6)
    assert abs(vp - 3.2137) < 2e-5 and abs(fw - 0.04) < 1e-4
    assert math.isnan(peak_and_fwhm(V, G, 0.5)[0])  # maximum on the window edge: no peak
    assert math.isnan(peak_and_fwhm(V, G, 9.0)[0])  # no data in the window


# ------------------------------------------------------------------------------------------
# Table I coefficients (docs/model.md#table-i-scaling-laws)
@pytest.mark.parametrize("t, ref", [(0.2, 0.0049), (0.3, 0.0505), (0.5, 0.281), (0.7, 0.574)])
def test_table1_par_coefficient(t, ref):
    """δΔo/Δo = −c(t)(B/Δo)² at small B (B = 0.1).  The reference values agree to 2–3 %."""
    d0 = m.bcs_gap(t)
    d = m.order_parameter(t, 0.1)
    c = -(d - d0) / d0 / (0.1 / d) ** 2
    assert rel(c, ref) < 0.03


@pytest.mark.parametrize("eta, ref", [(1.0, 3.7), (0.0, 3.2)])
def test_table1_perp_coefficient(eta, ref):
    d0 = m.bcs_gap(T_FIG2)
    cs = [-(m.order_parameter(T_FIG2, B, theta_B=PI2, eta=eta) - d0) / d0 / (B / 20.0) ** 2 for B in (0.1,) + B_FIG2]
    assert all(abs(c - ref) < 0.05 for c in cs)
    assert max(cs) / min(cs) - 1 < 0.01  # constant to 1 % over B ≤ 0.67


def test_table1_compute_from_peaks():
    from isingflow.model.stage import table1_compute

    fig2 = {"delta_soc": 20.0, "eta": 1.0, "directions": {"par": 0.0, "perp": 90.0}}
    peaks, op = [], []
    for direction, theta in fig2["directions"].items():
        for B, (d, vp, fw) in _peaks(math.radians(theta), 0.01, vmax=3.6).items():
            peaks.append({"direction": direction, "B": B, "delta_o": d, "V_peak": vp, "fwhm": fw})
            op.append({"direction": direction, "B": B, "delta_o": d})
    rows = {(r["quantity"], r["direction"], r["x"]): r
            for r in table1_compute(fig2, {"fit_B_min": 0.0, "fit_B_max": 0.67}, peaks, op)}
    assert 2.0 < rows[("order_parameter_shift", "par", "B/Delta_o")]["exponent"] < 2.2  # + higher orders in B
    assert abs(rows[("order_parameter_shift", "perp", "B/Delta_SOC")]["exponent"] - 2) < 0.02
    assert abs(rows[("order_parameter_shift", "perp", "B/Delta_SOC")]["prefactor"] - 3.7) < 0.15
    pb = rows[("pair_breaking_rate", "perp", "alpha=eta*B^2/(B^2+Delta_SOC^2)")]
    assert abs(pb["exponent"] - 1) < 1e-3 and abs(pb["prefactor"] - 1) < 1e-3
    assert rows[("peak_broadening", "par", "B")]["prefactor"] < 0.01  # B ∥ c: no broadening


# ------------------------------------------------------------------------------------------
# Hysteresis (docs/model.md#hysteresis-estimate)
def test_hysteresis_table():
    from isingflow.model.hysteresis import flop_table, puddle_energy_zero_T

    assert abs(puddle_energy_zero_T(7.0, 2.9, 3.44, 15.0) - 72.0) < 0.5
    rows = flop_table(7.0, 2.9, 3.44, 15.0, [1, 5, 10, 20, 45, 60], [1.0, math.pi / 4], 8.0, 2.0)
    ref = {1: (0.118, 0.995, 0.03), 5: (0.263, 0.977, 0.16), 10: (0.373, 0.952, 0.34),
           20: (0.527, 0.900, 0.70), 45: (0.790, 0.737, 1.84), 60: (0.912, 0.591, 2.86)}
    got = {r["K_ueV"]: r for r in rows if r["c"] == 1.0 and r["source"] == "input"}
    for K, (ratio, tf, dT) in ref.items():
        assert abs(got[K]["delta_ratio"] - ratio) < 1e-3
        assert abs(got[K]["t_flop"] - tf) < 1e-3
        assert abs(got[K]["Tc_minus_T_flop_K"] - dT) < 0.01
        assert got[K]["xi_at_flop_nm"] > 8.0 > 1.5  # ξ(T) ≥ ξ(0) ≫ R_d at every T
    onset = {r["c"]: r["K_ueV"] for r in rows if r["source"] == "observed_onset"}
    assert 45 <= onset[1.0] <= 50 and 35 <= onset[math.pi / 4] <= 40


# ------------------------------------------------------------------------------------------
# Config section
def test_model_config_validates_and_rejects_unknown_keys(repo_root):
    import copy

    import yaml

    from isingflow.config import schema_errors

    cfg = yaml.safe_load(open(repo_root / "config" / "config.yaml"))
    assert schema_errors(cfg) == []
    bad = copy.deepcopy(cfg)
    bad["model"]["fig2"]["gama0"] = 0.01
    errs = schema_errors(bad)
    assert any("gama0" in e and "model.fig2" in e for e in errs)
    bad = copy.deepcopy(cfg)
    bad["model"]["fig3b"]["easy_axes"] = ["w"]
    assert any("model.fig3b.easy_axes" in e for e in schema_errors(bad))
