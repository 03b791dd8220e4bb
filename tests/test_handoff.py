"""The DFT → model hand-off on small parameter records: field, spin-filter weights, Δ_SOC source."""
from __future__ import annotations

import pytest
from scipy import constants

from isingflow.config import section_settings
from isingflow.model import order_parameter
from isingflow.model.handoff import BIAS_POINTS, CSV_FIELDS, dft_handoff, spin_filter_weight_up
from isingflow.model.stage import read_csv, write_csv


def _het(B_Tc0=0.1, parallel=True):
    return {"B_equiv_Tc_units": B_Tc0, "B_equiv_T": 1.04 * B_Tc0 / 0.1, "B_equiv_convention": "µB·B = λex/2",
            "B_equiv_half_convention_T": 1.04 * B_Tc0 / 0.1,
            "B_equiv_parallel_to_magnet": parallel, "lambda_ex_avg_meV": 0.12 if parallel else -0.12, "Tc_K": 7.0,
            "lambda_ex_meV": 50.0, "ensemble": {"lambda_ex_avg_by_grid_meV": {"3": 0.5, "6": 0.12}},
            "spin_filter_vacuum_aligned": [{"n_layers": 1, "weight_up": 0.8}, {"n_layers": 2, "weight_up": 0.9}]}


MONOLAYER = {"delta_soc_half_K_meV": 75.0}


def _settings(**changes):
    """``model.from_dft`` with the schema's defaults (T, η, γ0, Δ_SOC, v_max, spin-filter layers)."""
    return section_settings("model", {"from_dft": {"enabled": True, **changes}})["from_dft"]


def test_settings_come_from_the_schema():
    s = _settings()
    assert (s["T"], s["eta"], s["gamma0"], s["delta_soc"], s["v_max"]) == (0.5, 1.0, 0.01, 20.0, 5.0)
    assert s["spin_filter_layers"] == 1 and s["use_dft_delta_soc"] is False and s["bound_T"] == 0.1


def test_spin_filter_weight_follows_the_field_direction():
    assert spin_filter_weight_up(_het(), 1) == 0.8
    assert spin_filter_weight_up(_het(), 2) == 0.9
    assert spin_filter_weight_up(_het(parallel=False), 2) == pytest.approx(0.1)


def test_handoff_record_and_curves(tmp_path):
    het = _het(parallel=False)
    res = dft_handoff(het, MONOLAYER, _settings())
    rec = res.record
    assert rec["B_Tc0"] == 0.1 and rec["B_T"] == het["B_equiv_T"] and rec["B_convention"] == "µB·B = λex/2"
    assert rec["delta_soc_Tc0"] == 20.0 and rec["delta_soc_source"] == "config"
    assert rec["spin_filter_weight_up"] == pytest.approx(0.2) and rec["B_parallel_to_magnet"] is False
    assert (rec["T"], rec["eta"], rec["gamma0"]) == (0.5, 1.0, 0.01)
    assert len(res.rows) == 2 * BIAS_POINTS and {r["direction"] for r in res.rows} == {"par", "perp"}
    for name, theta in (("par", 0.0), ("perp", 1.5707963267948966)):
        r = rec["results"][name]
        assert r["delta_o"] == pytest.approx(order_parameter(0.5, 0.1, theta_B=theta, delta_soc=20.0, eta=1.0))
        assert r["V_peak"] == pytest.approx(2 * r["delta_o"], rel=0.2)    # coherence peak near 2Δo
        assert r["fwhm"] > 0
    write_csv(tmp_path / "h.csv", CSV_FIELDS, res.rows)
    back = read_csv(tmp_path / "h.csv")
    assert len(back) == 2 * BIAS_POINTS and back[-1]["V"] == pytest.approx(5.0)


def test_field_that_destroys_superconductivity_along_c_only():
    """Ising protection: a field of 3 Tc0 kills Δo for B ∥ c, Δ_SOC = 20 Tc0 keeps it for B ⊥ c."""
    rec = dft_handoff(_het(B_Tc0=3.0), MONOLAYER, _settings()).record
    assert rec["results"]["par"]["delta_o"] == 0.0
    assert rec["results"]["par"]["V_peak"] != rec["results"]["par"]["V_peak"]       # nan: no peak
    assert rec["results"]["perp"]["delta_o"] > 0.5


def test_experimental_bound_for_every_averaging_choice():
    """The junctions superconduct: Δo(B ∥ c) > 0 at T = 0.1 Tc0 bounds the field (Pauli: the gap
    equation keeps a solution up to ≈ Δ0 = 1.76 Tc0 at T → 0, above Clogston's Δ0/√2 ≈ 1.25); one
    stacking's λex of 50 meV is far beyond it, ⟨λex⟩ is not."""
    bound = dft_handoff(_het(), MONOLAYER, _settings()).record["superconductivity_bound"]
    b = bound["B_par_max_Tc0"]
    assert bound["T"] == 0.1 and 1.25 < b < 1.77
    assert order_parameter(0.1, 0.98 * b, theta_B=0.0, delta_soc=20.0, eta=1.0) > 0
    assert order_parameter(0.1, 1.02 * b, theta_B=0.0, delta_soc=20.0, eta=1.0) == 0
    kT_meV = constants.k * 7.0 / constants.e * 1e3
    mu_B_meV = constants.physical_constants["Bohr magneton in eV/T"][0] * 1e3
    assert bound["lambda_ex_max_meV"] == pytest.approx(2 * b * kT_meV, rel=1e-3)   # µB·B = λex/2
    by = {c["choice"].split(" (")[0]: c for c in bound["choices"]}
    assert not by["one stacking"]["superconducts"] and by["⟨λex⟩ handed off"]["superconducts"]
    assert by["stacking average, 3×3 grid"]["B_Tc0"] == pytest.approx(0.25 / mu_B_meV * mu_B_meV / kT_meV, rel=1e-3)
    assert [c["superconducts"] for c in bound["choices"]] == [c["B_Tc0"] < b for c in bound["choices"]]


def test_delta_soc_from_the_monolayer():
    rec = dft_handoff(_het(), MONOLAYER, _settings(use_dft_delta_soc=True)).record
    kT_meV = constants.k * 7.0 / constants.e * 1e3
    assert rec["delta_soc_Tc0"] == pytest.approx(75.0 / kT_meV, rel=1e-9)
    assert rec["delta_soc_source"] == "DFT (monolayer, half splitting at K)"


def test_summary_states_the_bound_beside_the_papers_average(tmp_path):
    """results/summary.md: our numbers beside the paper's, and the bound for every λex choice."""
    import json

    from isingflow.summary import write_summary
    from tests.conftest import REPO

    het = _het()
    rec = dft_handoff(het, MONOLAYER, _settings()).record
    (tmp_path / "het.json").write_text(json.dumps({**het, "barrier_up_eV": 0.3}))
    (tmp_path / "handoff.json").write_text(json.dumps(rec))
    rows = write_summary(tmp_path / "summary.md", REPO / "workflow" / "paper_values.yaml",
                         {"heterostructure": str(tmp_path / "het.json")}, None, "test",
                         handoff_json=str(tmp_path / "handoff.json"))
    text = (tmp_path / "summary.md").read_text()
    barrier = next(r for r in rows if r["key"] == "barrier_up_eV")
    assert barrier["ours"] == 0.3 and barrier["ratio"] == pytest.approx(0.3 / 0.27)
    assert "## Experimental bound" in text
    lines = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert lines["one stacking (the heterostructure's own λex)"].rstrip().endswith("| no |")
    assert lines["the paper's ⟨λex⟩"].rstrip().endswith("| yes |")
