"""Extraction formulas on synthetic band structures with known answers, and the spec's numbers."""
import numpy as np
import pytest

from isingflow import extract as ex
from isingflow.dft import BandStructure


def synthetic_bilayer_magnet(lam_eV=0.12, nk=21):
    """Two 'NbSe2' bands (layers 0, 2) split by λ between spins, one 'CrBr3' band (layer 1) high up."""
    k = np.linspace(0, 1 / 3, nk)
    kpts = np.c_[k, k, np.zeros(nk)]
    base = np.stack([-0.5 + 3 * k, -0.45 + 3 * k, 1.0 + 0 * k], axis=-1)      # [k, band]
    up = base.copy()
    dn = base.copy()
    up[:, :2] -= lam_eV / 2
    dn[:, :2] += lam_eV / 2
    dn[:, 2] += 1.0                                                              # minority CB higher
    eig = np.stack([up, dn])
    proj = np.zeros((2, nk, 3, 3))
    proj[:, :, 0, 0] = proj[:, :, 1, 2] = proj[:, :, 2, 1] = 1.0                # band -> atom
    return BandStructure(eigenvalues=eig, kpoints=kpts, fermi_level=0.0, code="synthetic",
                         cell=np.diag([3.44, 3.44, 20.0]), symbols=["Nb", "Cr", "Nb"],
                         projections=proj, atom_layers=[0, 1, 2], path_labels=[(0, "G"), (nk - 1, "K")])


def test_exchange_splitting_recovers_lambda():
    b = synthetic_bilayer_magnet(0.12)
    res = ex.exchange_splitting(b, [0, 2], window_eV=1.0, fermi_broadening_eV=0.05)
    assert res.average_meV == pytest.approx(120.0, abs=1e-9)
    assert res.at_label_meV["G"] == pytest.approx(120.0)
    with pytest.raises(ValueError, match="spin-polarised"):
        ex.exchange_splitting(BandStructure(eigenvalues=b.eigenvalues[:1], kpoints=b.kpoints, fermi_level=0.0,
                                            code="x"), [0])


def test_lowest_state_above_ef_and_edges():
    b = synthetic_bilayer_magnet()
    assert ex.lowest_state_above_ef(b, [1], spin=0) == pytest.approx(1.0)
    assert ex.lowest_state_above_ef(b, [1], spin=1) == pytest.approx(2.0)


def test_fit_exponential_decay_exact_and_gate():
    d = np.array([5.5, 6.0, 6.5])
    lam = 50.0 * np.exp(-(d - 5.5) / 0.4)
    fit = ex.fit_exponential_decay(d, lam, 6.88)
    assert fit["decay_length_angstrom"] == pytest.approx(0.4, rel=1e-9)
    assert fit["value_meV"] == pytest.approx(50.0 * np.exp(-(6.88 - 5.5) / 0.4), rel=1e-9)
    assert fit["value_err_meV"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ex.PhysicsGateError, match="does not decay"):
        ex.fit_exponential_decay(d, lam[::-1], 6.88)


def _grid_rows(d, values):
    """Rows of a 3×3-grid ensemble whose three shifts carry the grid weights 1/9, 3/9, 5/9."""
    weights = (1 / 9, 3 / 9, 5 / 9)
    return [{"d_angstrom": d, "weight": w, "grid_weights": {"1": float(i == 0), "3": w}, "lambda_ex_meV": v}
            for i, (w, v) in enumerate(zip(weights, values))]


def test_fit_keeps_the_sign_and_refuses_mixed_signs():
    d = np.array([6.28, 6.88])
    fit = ex.fit_exponential_decay(d, -20.0 * np.exp(-(d - 6.28) / 0.5), 7.0)
    assert fit["A_meV"] < 0 and fit["value_meV"] == pytest.approx(-20.0 * np.exp(-0.72 / 0.5), rel=1e-9)
    assert fit["value_err_meV"] >= 0
    with pytest.raises(ex.PhysicsGateError, match="changes sign"):
        ex.fit_exponential_decay(d, [3.0, -1.0], 7.0)


def test_ensemble_average_uses_the_finest_grid_at_d_eval_and_fits_the_stacking_averages():
    rows = []
    for d in (6.28, 6.88):
        rows += _grid_rows(d, [f * 70.0 * np.exp(-(d - 6.28) / 0.35) for f in (0.8, 1.0, 1.2)])
    ens = ex.ensemble_average(rows, 6.88, stacking_grids=[1, 3])
    at = 70.0 * np.exp(-0.6 / 0.35)
    mean3 = at * (0.8 / 9 + 3.0 / 9 + 6.0 / 9)
    assert ens["lambda_ex_avg_meV"] == pytest.approx(mean3)
    assert ens["lambda_ex_grid_change_meV"] == pytest.approx(mean3 - 0.8 * at)   # 3×3 minus the t = 0 "grid"
    assert "3×3" in ens["method"]
    # the fit goes through the signed stacking averages of the two distances (exact: same shape)
    assert ens["fit"]["decay_length_angstrom"] == pytest.approx(0.35, rel=1e-9)
    assert ens["fit"]["n_points"] == 2
    # registries that split either way: the average's sign is kept, the fit does not flip it
    mixed = []
    for d in (6.28, 6.88):
        mixed += _grid_rows(d, [f * 70.0 * np.exp(-(d - 6.28) / 0.35) for f in (1.0, 0.5, -1.0)])
    neg = ex.ensemble_average(mixed, 7.5, stacking_grids=[1, 3])
    assert neg["fit"]["A_meV"] < 0 and neg["lambda_ex_avg_meV"] < 0
    # d_eval beyond the computed distances: the fit's value
    far = ex.ensemble_average(rows, 7.5, stacking_grids=[1, 3])
    assert far["lambda_ex_avg_meV"] == pytest.approx(far["fit"]["value_meV"])
    assert "fit" in far["method"]


def _ensemble(values_by_d, wall_time_s, system):
    rows = [r for d, vals in values_by_d.items() for r in _grid_rows(d, vals)]
    ens = ex.ensemble_average(rows, 6.88, stacking_grids=[1, 3])
    ens.update({"system": system, "dft_wall_time_s": wall_time_s})
    return ens


def test_compare_ensembles_against_the_reference_grid_change():
    trilayer = _ensemble({6.28: [60.0, 70.0, 80.0], 6.88: [9.0, 12.0, 15.0]}, 3000.0, "tri")
    assert trilayer["lambda_ex_avg_meV"] == pytest.approx(1.0 + 4.0 + 75.0 / 9)
    assert trilayer["lambda_ex_grid_change_meV"] == pytest.approx(1.0 + 4.0 + 75.0 / 9 - 9.0)
    close = _ensemble({6.28: [61.0, 71.0, 79.0], 6.88: [9.5, 12.5, 15.5]}, 1000.0, "bi")
    far = _ensemble({6.28: [61.0, 71.0, 79.0], 6.88: [15.0, 18.0, 21.0]}, 1000.0, "bi2")
    c = ex.compare_ensembles(trilayer, close)
    assert c["difference_meV"] == pytest.approx(0.5)
    assert c["within_grid_change"] and c["cost_ratio"] == pytest.approx(3.0)
    assert not ex.compare_ensembles(trilayer, far)["within_grid_change"]
    table = ex.ensemble_table_markdown([trilayer, close, far])
    lines = table.splitlines()
    assert len(lines) == 5 and "reference" in lines[2]
    assert "+0.50 (within |Δgrid| = 4.33)" in lines[3] and "beyond" in lines[4]
    assert "13.33" in lines[2]


@pytest.mark.parametrize("phi_down,n,ratio,pol", [
    (0.54, 1, 3.8, 0.59), (0.81, 1, 11, 0.83), (1.08, 1, 26, 0.93),
    (0.54, 2, 15, 0.87), (0.81, 2, 116, 0.98), (1.08, 2, 660, 0.997),
])
def test_wkb_spin_filter_matches_spec_table(phi_down, n, ratio, pol):
    """The table of docs/extraction.md (spin filter): φ↑ = 0.27 eV, d = 6.1 Å per layer, m* = m_e."""
    row = ex.spin_filter(0.27, phi_down, 6.1, [n])[0]
    assert row["T_up_over_T_down"] == pytest.approx(ratio, rel=0.06)
    assert row["spin_polarization"] == pytest.approx(pol, abs=0.006)


def test_field_conventions():
    """0.04 meV: 0.35 T with µB·B = λex/2 and 0.69 T with µB·B = λex (docs/extraction.md)."""
    assert ex.field_from_exchange(0.04, "half") == pytest.approx(0.3455, abs=1e-3)
    assert ex.field_from_exchange(0.04, "full") == pytest.approx(0.691, abs=1e-3)
    assert ex.tesla_to_tc_units(1.0, 7.0) == pytest.approx(0.0960, abs=1e-4)
    assert ex.tesla_to_tc_units(0.35, 7.0) == pytest.approx(0.033, abs=1e-3)


def test_interlayer_hopping_from_unfolded_pairs():
    """Two layers' copies of a lower band, a folded state of another k (W = 0), then the split
    pair of the band of interest (primitive index 1): t⊥ is half the pair's splitting."""
    nk = 11
    k = np.linspace(0, 0.5, nk)
    t = 0.05 * np.cos(np.pi * k)                        # known t⊥(k), eV
    eps = -0.2 + k
    eig = np.stack([eps - 1.01, eps - 1.0, eps - 0.5, eps - t, eps + t, eps + 2.0], axis=-1)[None]
    W = np.ones_like(eig)
    W[0, :, 2] = 0.0                                    # folded from another primitive k: excluded
    b = BandStructure(eigenvalues=eig, kpoints=np.c_[2 * k, 0 * k, 0 * k], fermi_level=0.0, code="x",
                      cell=np.diag([6.88, 6.88, 20.0]), unfold_weights=W, kpoints_primitive=np.c_[k, 0 * k, 0 * k],
                      primitive_cell=np.diag([3.44, 3.44, 20.0]), path_labels=[(0, "G"), (nk - 1, "M")])
    res = ex.interlayer_hopping(b, band_index_primitive=1, start="G", end="M")
    np.testing.assert_allclose(res.t_perp_meV, 1000 * np.abs(t), atol=1e-9)
    np.testing.assert_allclose(res.pair_energy_meV, 1000 * eps, atol=1e-9)
    assert res.k_distance_inv_angstrom[-1] == pytest.approx(2 * np.pi * 0.5 / 3.44)
    # with an opposite-Ising-SOC correction: t⊥ = sqrt((E/2)² − (Δ/2)²) for a full splitting Δ
    corr = ex.interlayer_hopping(b, 1, "G", "M", delta_soc_meV=np.full(nk, 40.0))
    np.testing.assert_allclose(corr.t_perp_meV, np.sqrt(np.maximum((1000 * t) ** 2 - 20.0 ** 2, 0)), atol=1e-9)


def test_hotspot_correlation_sign():
    k = np.linspace(0, 1, 20)
    assert ex.hotspot_correlation(np.cos(k), k) < -0.9


def test_stacking_ensemble_evaluates_at_the_base_distance_when_d_eval_is_none():
    """d_eval None: each ensemble system's own (base) distance, e.g. a derived heterostructure's 7.05 Å."""
    manifest = {"variants": {"base": {"distances_angstrom": [7.05]},
                             "near": {"distances_angstrom": [6.45], "registry": {"frac": [0, 0], "weight": 1.0}},
                             "far": {"distances_angstrom": [7.05], "registry": {"frac": [0, 0], "weight": 1.0}}}}
    gs = {"scf_iterations": 10, "wall_time_s": 1.0}
    variants = [("near", synthetic_bilayer_magnet(0.12), gs), ("far", synthetic_bilayer_magnet(0.02), gs)]
    ens = ex.stacking_ensemble(variants, manifest, [0, 2], {"window_eV": 1.0, "fermi_broadening_eV": 0.05},
                               None, system="bi", profile="test", stacking_grids=[])
    assert ens["d_eval_angstrom"] == 7.05
    assert ens["lambda_ex_avg_meV"] == pytest.approx(20.0)     # the 7.05 Å member, not the fit nor 6.45 Å
