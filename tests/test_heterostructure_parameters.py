"""heterostructure_parameters on small synthetic band structures whose every number is known.

The stack: two superconductor layers (0, 2; element Nb) split by λ between the spins, around a
magnet layer (1; Cr) whose conduction band lies 1 eV (↑) and 2 eV (↓) above E_F; on the unfolded
path the two layers' copies of the Fermi-level band are split by 2t⊥(k); the monolayer has an
Ising splitting that grows linearly from Γ to K; the magnet monolayer has known band edges.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import constants

from isingflow.config import section_settings
from isingflow.dft import BandStructure
from isingflow.extract import HeterostructureInputs, PhysicsGateError, heterostructure_parameters
from isingflow.plots.dft_figures import plot_heterostructure_figures
from isingflow.provenance import write_json

A = 3.44
CELL = np.array([[A, 0, 0], [-A / 2, A * np.sqrt(3) / 2, 0], [0, 0, 20.0]])
LAM_EV = 0.12                      # exchange splitting of the superconductor's bands
SOC_K_EV = 0.15                    # full Ising splitting at K
MOMENTS = [0.01, 3.0, -0.02]       # Nb, Cr, Nb
T_EV = 0.15                        # t⊥ scale: 2t⊥ > λ everywhere, so the (↑, ↓) partners are unambiguous

# the keys of results/parameters/<heterostructure>.json (before provenance), in file order
KEYS = [
    "system", "profile", "code", "lambda_ex_meV", "lambda_ex_path_average_meV", "lambda_ex_at_G_meV",
    "lambda_ex_at_K_meV", "m_Nb_muB", "m_Nb_mean_abs_muB",
    "m_Nb_layer_integrated_muB", "m_Cr_muB", "total_moment_muB",
    "nbse2_fermi_level_vs_vacuum_eV", "crbr3_band_edges_vs_vacuum_eV", "crbr3_band_edges_at_K_vs_vacuum_eV",
    "barrier_up_eV", "barrier_down_eV", "barrier_at_K_up_eV", "barrier_at_K_down_eV",
    "barrier_in_heterostructure_up_eV", "barrier_in_heterostructure_down_eV",
    "spin_polarization", "spin_filter_vacuum_aligned", "spin_filter_heterostructure", "t_perp_Gamma_meV",
    "t_perp_K_meV", "t_perp_M_meV", "t_perp_Gamma_up_meV", "t_perp_Gamma_down_meV", "t_perp_K_up_meV",
    "t_perp_K_down_meV", "spin_filter_tunnelling", "bilayer_t_perp_Gamma_meV", "bilayer_t_perp_K_meV", "t_perp_curves",
    "hotspot_correlation_tperp2_vs_abs_delta_soc", "ensemble", "lambda_ex_avg_meV", "lambda_ex_grid_change_meV",
    "B_equiv_T", "B_equiv_parallel_to_magnet", "B_equiv_half_convention_T", "B_equiv_full_convention_T",
    "B_equiv_convention", "B_equiv_Tc_units", "Tc_K",
]


def _path(n=9):
    """Γ–M–K–Γ in fractional coordinates of the hexagonal cell; labels and the fraction s ∈ [0, 1]
    of each point along its segment."""
    G, M, K = np.zeros(3), np.array([0.5, 0, 0]), np.array([1 / 3, 1 / 3, 0])
    pts, seg = [], []
    for i, (p, q) in enumerate(((G, M), (M, K), (K, G))):
        s = np.linspace(0, 1, n)[(1 if i else 0):]
        pts += [p + x * (q - p) for x in s]
        seg += [(i, x) for x in s]
    labels = [(0, "G"), (n - 1, "M"), (2 * n - 2, "K"), (3 * n - 3, "G")]
    return np.array(pts), labels, seg


KPTS, LABELS, SEG = _path()
NK = len(KPTS)


def _soc_fraction():
    """ΔSOC / ΔSOC(K) at every k: 0 on Γ–M, 1 along M–K, linear from K (1) to Γ (0)."""
    return np.array([0.0 if i == 0 else 1.0 if i == 1 else 1 - x for i, x in SEG])


def _t_perp_eV(scale):
    return scale * (1.0 + 0.5 * np.cos(np.pi * np.arange(NK) / (NK - 1)))


def _eps():
    return -0.3 + 0.6 * np.arange(NK) / (NK - 1)          # the Fermi-level band, eV


def _stack_states(t, lam, t_down=None):
    """Per spin: deep band pair, the split Fermi-level pair, the magnet's CB; unfold weights; layer of each.
    ``t_down``: the minority spin's t⊥ (default: that of the majority)."""
    eps = _eps()
    out = []
    for sign, cb in ((-1, 1.0), (+1, 2.0)):
        shift = sign * lam / 2
        t = t if sign < 0 or t_down is None else t_down
        out.append(np.stack([eps - 2.0 + shift - 0.01, eps - 2.0 + shift + 0.01, eps - t + shift, eps + t + shift,
                             np.full(NK, cb)], axis=-1))
    return np.stack(out)


def _projections(nspin):
    """States 0–3 on the superconductor's two atoms (0, 2) half each; state 4 on the magnet (atom 1)."""
    proj = np.zeros((nspin, NK, 5, 3))
    proj[..., :4, 0] = proj[..., :4, 2] = 0.5
    proj[..., 4, 1] = 1.0
    return proj


def _unfolded(t, lam, spin_polarized=True, t_down=None):
    eig = _stack_states(t, lam, t_down)[: 2 if spin_polarized else 1]
    W = np.ones_like(eig)
    W[..., 4] = 0.0                                      # the magnet's band is projected out
    return BandStructure(eigenvalues=eig, kpoints=(2 * KPTS) % 1, fermi_level=0.0, code="synthetic",
                         cell=CELL * [[2], [2], [1]], symbols=["Nb", "Cr", "Nb"], atom_layers=[0, 1, 2],
                         projections=_projections(eig.shape[0]), unfold_weights=W, kpoints_primitive=KPTS,
                         primitive_cell=CELL, path_labels=LABELS)


def _mesh():
    eig = _stack_states(0.1, LAM_EV)
    return BandStructure(eigenvalues=eig, kpoints=KPTS, fermi_level=0.0, code="synthetic", cell=CELL,
                         symbols=["Nb", "Cr", "Nb"], atom_layers=[0, 1, 2], projections=_projections(2))


def _monolayer(n=9):
    """Non-SOC bands (deep, Fermi-level) and their SOC pairs split by ΔSOC(k) with ⟨σz⟩ = ∓1, on the
    path of ``n`` points per segment (the stack's has 9)."""
    kpts, labels, seg = _path(n)
    nk = len(kpts)
    eps = -0.3 + 0.6 * np.arange(nk) / (nk - 1)
    nosoc = np.stack([eps - 2.0, eps], axis=-1)[None]
    d = SOC_K_EV * np.array([0.0 if i == 0 else 1.0 if i == 1 else 1 - x for i, x in seg])
    soc = np.stack([eps - 2.0 - d / 2, eps - 2.0 + d / 2, eps - d / 2, eps + d / 2], axis=-1)[None]
    sz = np.zeros((nk, 4, 3))
    sz[:, 0::2, 2], sz[:, 1::2, 2] = 1.0, -1.0           # lower state σz > 0: splitting ε(σz<0) − ε(σz>0) > 0
    common = {"kpoints": kpts, "fermi_level": 0.0, "code": "synthetic", "cell": CELL, "path_labels": labels}
    return (BandStructure(eigenvalues=soc, soc=True, spin_expectation=sz, **common),
            BandStructure(eigenvalues=nosoc, **common))


def _magnet():
    """VB at −6 eV; CB ↑ −4.0 eV, CB ↓ −3.5 eV; E_F −5 eV (absolute)."""
    e = np.stack([np.stack([np.full(NK, -6.0), np.full(NK, cb)], axis=-1) for cb in (-4.0, -3.5)])
    return BandStructure(eigenvalues=e, kpoints=KPTS, fermi_level=-5.0, code="synthetic", cell=CELL,
                         path_labels=LABELS)


def _ensemble(avg_meV=-0.04):
    return {"lambda_ex_avg_meV": avg_meV, "lambda_ex_grid_change_meV": 0.01, "system": "bilayer",
            "method": "registry average", "provenance": {"created_utc": "now"}}


def _inputs(monolayer_points=9, **changes):
    soc, nosoc = _monolayer(monolayer_points)
    fields = dict(het_gs={"spin_polarized": True, "magmoms_muB": MOMENTS, "magmom_total_muB": 2.99},
                  het_mesh=_mesh(), het_unfolded=_unfolded(_t_perp_eV(T_EV), LAM_EV),
                  bilayer_unfolded=_unfolded(_t_perp_eV(1e-4), 0.0, spin_polarized=False),
                  sc_gs={"fermi_level_eV": -4.0, "vacuum_level_bottom_eV": 0.4, "vacuum_level_top_eV": 0.6},
                  sc_soc=soc, sc_nosoc=nosoc, mag_gs={"vacuum_level_bottom_eV": 0.2, "vacuum_level_top_eV": 0.4},
                  mag_bands=_magnet(), ensemble=_ensemble())
    fields.update(changes)
    return HeterostructureInputs(**fields)


def _settings(**changes):
    base = {"heterostructure": "tri", "superconductor_layers": [0, 2], "magnet_layers": [1], "bilayer": "bi",
            "monolayer_superconductor": "sc", "monolayer_magnet": "mag",
            "superconductor_element": "Nb", "magnet_element": "Cr",
            "lambda_ex": {"min_layer_weight": 0.5, "window_eV": 1.0, "fermi_broadening_eV": 0.1, "max_shift_eV": 0.4},
            "spin_filter": {"layer_thickness_angstrom": 6.1, "n_layers": [1, 2, 3], "effective_mass": 1.0},
            "ensemble": {"d_eval_angstrom": 6.88}, "field": {"convention": "half", "Tc_K": 7.0},
            "gates": {"magnet_moment_muB": [2.5, 3.5]}}
    base.update(changes)
    return section_settings("extract", base)     # superconductor/magnet element from the schema


def _wkb(phi_eV, d_angstrom):
    kappa = np.sqrt(2 * constants.m_e * phi_eV * constants.e) / constants.hbar * 1e-10
    return np.exp(-2 * kappa * d_angstrom)


@pytest.fixture(scope="module")
def result():
    return heterostructure_parameters(_inputs(), _settings(), system="tri", bilayer="bi", profile="test")


def test_record_keys_and_json(result, tmp_path):
    p = result.parameters
    assert list(p) == KEYS
    assert (p["system"], p["profile"], p["code"]) == ("tri", "test", "synthetic")
    write_json(tmp_path / "p.json", dict(p))
    back = json.loads((tmp_path / "p.json").read_text())
    assert list(back) == KEYS and "provenance" not in back["ensemble"]


def test_exchange_splitting_and_moments(result):
    p = result.parameters
    for key in ("lambda_ex_meV", "lambda_ex_path_average_meV", "lambda_ex_at_G_meV", "lambda_ex_at_K_meV"):
        assert p[key] == pytest.approx(1000 * LAM_EV, abs=1e-9), key
    assert p["m_Nb_muB"] == [0.01, -0.02] and p["m_Cr_muB"] == [3.0]
    assert p["m_Nb_mean_abs_muB"] == pytest.approx(0.015)
    assert p["m_Nb_layer_integrated_muB"] is None          # this gs.json records no slab moments
    slabs = {"spin_polarized": True, "magmoms_muB": MOMENTS, "magmom_total_muB": 2.99,
             "layer_moments_muB": {"0": 0.03, "1": 3.2, "2": -0.04}}
    with_slabs = heterostructure_parameters(_inputs(het_gs=slabs), _settings(), "tri", "bi", "test").parameters
    assert with_slabs["m_Nb_layer_integrated_muB"] == [0.03, -0.04]
    assert p["total_moment_muB"] == 2.99


def test_alignment_barriers_and_spin_filter(result):
    p = result.parameters
    assert p["nbse2_fermi_level_vs_vacuum_eV"] == pytest.approx(-4.5)
    edges = p["crbr3_band_edges_vs_vacuum_eV"]
    assert edges["up"]["cbm_eV"] == pytest.approx(-4.3) and edges["down"]["vbm_eV"] == pytest.approx(-6.3)
    assert edges["down"]["gap_eV"] == pytest.approx(2.5)
    assert p["crbr3_band_edges_at_K_vs_vacuum_eV"] == edges
    assert p["barrier_up_eV"] == pytest.approx(0.2) and p["barrier_down_eV"] == pytest.approx(0.7)
    assert p["barrier_at_K_up_eV"] == pytest.approx(0.2) and p["barrier_at_K_down_eV"] == pytest.approx(0.7)
    assert p["barrier_in_heterostructure_up_eV"] == pytest.approx(1.0)
    assert p["barrier_in_heterostructure_down_eV"] == pytest.approx(2.0)
    for row in p["spin_filter_vacuum_aligned"]:
        tu, td = _wkb(0.2, 6.1 * row["n_layers"]), _wkb(0.7, 6.1 * row["n_layers"])
        assert row["T_up_over_T_down"] == pytest.approx(tu / td, rel=1e-6)
        assert p["spin_polarization"][str(row["n_layers"])] == pytest.approx((tu - td) / (tu + td), rel=1e-6)
    het = p["spin_filter_heterostructure"][0]
    assert het["weight_up"] == pytest.approx(_wkb(1.0, 6.1) / (_wkb(1.0, 6.1) + _wkb(2.0, 6.1)), rel=1e-6)


def test_t_perp_and_hot_spots(result):
    p = result.parameters
    t = 1000 * _t_perp_eV(T_EV)
    i_M, i_K = LABELS[1][0], LABELS[2][0]
    assert p["t_perp_Gamma_meV"] == pytest.approx(t[0])
    assert p["t_perp_M_meV"] == pytest.approx(t[i_M])
    assert p["t_perp_K_meV"] == pytest.approx(t[i_K])     # Γ–K is the reversed K–Γ segment: ends at K
    assert p["bilayer_t_perp_Gamma_meV"] == pytest.approx(1000 * _t_perp_eV(1e-4)[0])
    assert set(p["t_perp_curves"]) == {"tri|up|G-M", "tri|up|G-K", "tri|down|G-M", "tri|down|G-K",
                                       "bi|both|G-M", "bi|both|G-K"}
    gk = p["t_perp_curves"]["tri|down|G-K"]
    assert gk["k_inv_angstrom"][-1] == pytest.approx(4 * np.pi / (3 * A))    # |ΓK| = 4π/3a
    # |t⊥|² against |ΔSOC| along Γ–K, both known in closed form
    idx = np.arange(LABELS[3][0], i_K - 1, -1)
    expected = np.corrcoef(t[idx] ** 2, 1000 * SOC_K_EV * _soc_fraction()[idx])[0, 1]
    assert p["hotspot_correlation_tperp2_vs_abs_delta_soc"] == pytest.approx(expected, abs=1e-9)
    assert result.hot_spots.correlation == p["hotspot_correlation_tperp2_vs_abs_delta_soc"]


def test_hot_spots_pair_the_same_k_when_the_paths_differ():
    """A monolayer SOC path twice as dense as the stack's: ΔSOC is interpolated onto the stack's k
    (exact here, ΔSOC is linear along K–Γ), so the correlation is the one on common k-points."""
    res = heterostructure_parameters(_inputs(monolayer_points=17), _settings(), "tri", "bi", "test")
    t = 1000 * _t_perp_eV(T_EV)
    idx = np.arange(LABELS[3][0], LABELS[2][0] - 1, -1)
    expected = np.corrcoef(t[idx] ** 2, 1000 * SOC_K_EV * _soc_fraction()[idx])[0, 1]
    assert res.parameters["hotspot_correlation_tperp2_vs_abs_delta_soc"] == pytest.approx(expected, abs=1e-9)
    assert res.hot_spots.delta_soc_full_meV == pytest.approx(1000 * SOC_K_EV * _soc_fraction()[idx], abs=1e-9)


def test_t_perp_per_spin_and_the_tunnelling_spin_filter():
    t = _t_perp_eV(T_EV)
    res = heterostructure_parameters(_inputs(het_unfolded=_unfolded(t, LAM_EV, t_down=t / 2)), _settings(),
                                     "tri", "bi", "test").parameters
    assert res["t_perp_Gamma_up_meV"] == pytest.approx(1000 * t[0])
    assert res["t_perp_Gamma_down_meV"] == pytest.approx(500 * t[0])
    assert res["t_perp_Gamma_meV"] == pytest.approx(1000 * t[0] * np.sqrt((1 + 0.25) / 2))   # √⟨t⊥²⟩
    gamma = res["spin_filter_tunnelling"]["Gamma"]
    assert gamma["T_up_over_T_down"] == pytest.approx(4.0) and gamma["spin_polarization"] == pytest.approx(0.6)


def test_lambda_ex_at_K_ignores_folded_partners():
    """At primitive K a folded partner (unfold weight 0.3) sits at E_F with another splitting: only the
    states that unfold onto K give λex there."""
    b = _unfolded(_t_perp_eV(T_EV), LAM_EV)
    iK = LABELS[2][0]
    partner = np.zeros((2, NK, 2))
    partner[...] = -5.0                                               # far below E_F except at K
    partner[0, iK, 0], partner[1, iK, 0] = 0.01, -0.01                # a pair at E_F split by −20 meV
    eig = np.concatenate([b.eigenvalues, partner], axis=-1)
    w_partner = np.zeros((2, NK, 2))
    w_partner[:, iK, 0] = 0.3                                         # mostly another primitive k's state
    W = np.concatenate([b.unfold_weights, w_partner], axis=-1)
    proj = np.concatenate([b.projections, np.tile([0.5, 0.0, 0.5], (2, NK, 2, 1))], axis=2)
    folded = BandStructure(eigenvalues=eig, kpoints=b.kpoints, fermi_level=0.0, code="synthetic", cell=b.cell,
                           symbols=b.symbols, atom_layers=b.atom_layers, projections=proj, unfold_weights=W,
                           kpoints_primitive=b.kpoints_primitive, primitive_cell=b.primitive_cell,
                           path_labels=b.path_labels)
    p = heterostructure_parameters(_inputs(het_unfolded=folded), _settings(), "tri", "bi", "test").parameters
    assert p["lambda_ex_at_K_meV"] == pytest.approx(1000 * LAM_EV, abs=1e-9)
    keep_all = _settings(lambda_ex={**_settings()["lambda_ex"], "min_unfold_weight": 0.2})
    p2 = heterostructure_parameters(_inputs(het_unfolded=folded), keep_all, "tri", "bi", "test").parameters
    assert abs(p2["lambda_ex_at_K_meV"] - 1000 * LAM_EV) > 10     # without the filter the partner spoils K


def test_equivalent_field_of_the_ensemble_average(result):
    p = result.parameters
    mu_B_meV_per_T = constants.physical_constants["Bohr magneton in eV/T"][0] * 1e3
    assert p["lambda_ex_avg_meV"] == -0.04 and p["ensemble"]["system"] == "bilayer"
    assert not p["B_equiv_parallel_to_magnet"]                         # ⟨λex⟩ < 0
    assert p["B_equiv_half_convention_T"] == pytest.approx(0.02 / mu_B_meV_per_T, rel=1e-8)
    assert p["B_equiv_full_convention_T"] == pytest.approx(2 * p["B_equiv_half_convention_T"])
    assert p["B_equiv_T"] == p["B_equiv_half_convention_T"] and p["B_equiv_convention"] == "µB·B = λex/2"
    kT = constants.k * 7.0 / constants.e * 1e3
    assert p["B_equiv_Tc_units"] == pytest.approx(p["B_equiv_T"] * mu_B_meV_per_T / kT, rel=1e-8)
    full = heterostructure_parameters(_inputs(ensemble=_ensemble(0.04)), _settings(field={"convention": "full",
                                                                                          "Tc_K": 7.0}),
                                      system="tri", bilayer="bi", profile="test").parameters
    assert full["B_equiv_parallel_to_magnet"] and full["B_equiv_T"] == full["B_equiv_full_convention_T"]


def test_physics_gates():
    with pytest.raises(PhysicsGateError, match="magnet moments"):
        heterostructure_parameters(_inputs(het_gs={"spin_polarized": True, "magmoms_muB": [0.0, 2.0, 0.0],
                                                   "magmom_total_muB": 2.0}), _settings(), "tri", "bi", "test")
    with pytest.raises(PhysicsGateError, match="not spin-polarised"):
        heterostructure_parameters(_inputs(het_gs={"spin_polarized": False, "magmoms_muB": MOMENTS,
                                                   "magmom_total_muB": 0.0}), _settings(), "tri", "bi", "test")


def test_figures(result, tmp_path):
    paths = [tmp_path / f"{name}.png" for name in ("fig1b", "fig1c", "fig1d", "hotspots")]
    plot_heterostructure_figures(result, *paths)
    assert all(p.stat().st_size > 10_000 for p in paths)
