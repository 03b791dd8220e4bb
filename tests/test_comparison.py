"""results/comparison.md and its figure from per-heterostructure records (isingflow.comparison)."""
import json

import pytest

from isingflow.comparison import comparison_markdown, rows_from_files, write_comparison
from isingflow.plots.comparison import plot_comparison


def _params(lam, avg, change, pol, vbm=-6.6):
    return {"lambda_ex_meV": lam, "lambda_ex_avg_meV": avg, "lambda_ex_grid_change_meV": change,
            "ensemble": {"system": "bi", "method": "stacking average"}, "B_equiv_T": 0.5, "B_equiv_Tc_units": 0.1,
            "B_equiv_convention": "µB·B = λex/2", "m_Nb_mean_abs_muB": 0.02, "barrier_up_eV": 0.3,
            "barrier_down_eV": 1.2, "barrier_at_K_up_eV": 0.5, "barrier_at_K_down_eV": 1.4,
            "nbse2_fermi_level_vs_vacuum_eV": -5.6,
            "crbr3_band_edges_vs_vacuum_eV": {"up": {"vbm_eV": vbm, "cbm_eV": -5.3}, "down": {"vbm_eV": vbm - 0.2,
                                                                                        "cbm_eV": -4.4}},
            "spin_polarization": {"1": pol, "2": min(1.0, 2 * pol), "3": min(1.0, 3 * pol)},
            "t_perp_Gamma_meV": 40.0, "t_perp_K_meV": 2.0}


def _handoff(d0, d_par, fwhm0, fwhm_par):
    peak = {"V_peak": 1.8, "fwhm": fwhm0}
    return {"results": {"zero_field": {"delta_o": d0, **peak}, "par": {**peak, "delta_o": d_par, "fwhm": fwhm_par},
                        "perp": {**peak, "delta_o": d0}}}


@pytest.fixture
def rows(tmp_path):
    files = {"params": [], "manifests": [], "handoffs": []}
    cases = [("A-CrBr3-A", _params(30.0, -4.0, 1.5, 0.3), [0.0, 9.9, 0.0], _handoff(1.76, 1.5, 0.2, 0.3)),
             ("A-CrI3-A", _params(50.0, 10.0, None, 0.6, vbm=-4.9), [0.0, 0.19, 0.0], _handoff(1.76, 0.0, 0.2, None))]
    for name, params, strain, handoff in cases:
        for key, data in (("params", params), ("manifests", {"variants": {"base": {
                              "n_atoms": 32, "strain_biaxial_percent_by_layer": strain}}}),
                          ("handoffs", handoff)):
            path = tmp_path / f"{name}-{key}.json"
            path.write_text(json.dumps(data))
            files[key].append(str(path))
    return rows_from_files([c[0] for c in cases], files["params"], files["manifests"], files["handoffs"],
                           {"A-CrBr3-A": "Nb", "A-CrI3-A": "Nb"})


def test_one_row_per_heterostructure_with_its_numbers(rows):
    assert [r.name for r in rows] == ["A-CrBr3-A", "A-CrI3-A"]
    assert rows[0].strain_percent == 9.9 and rows[1].lambda_ex_avg_error_meV is None
    text = comparison_markdown(rows, "smoke")
    lines = text.splitlines()
    first = next(line for line in lines if line.startswith("| A-CrBr3-A | 32"))
    assert "| +9.90 |" in first and "| -4 ± 1.5 |" in first and "0.3 / 1.2" in first and "0.02 (Nb)" in first
    second = next(line for line in lines if line.startswith("| A-CrI3-A | 32"))
    assert "| 10 |" in second and "±" not in second
    # VBM − E_F: −1 eV below for the first, +0.7 eV above (charge transfer, flagged) for the second
    assert "| -1.00 |" in first and "| +0.70 ⚠ |" in second
    # the model table: Δo change along c (1.5/1.76 − 1 = −14.8 %), the normal state, no peak to measure
    model = [line for line in lines if line.startswith("| A-")][2:]
    assert "-14.8" in model[0] and "+50" in model[0]
    assert "| -100 (normal state) | +0 | — | +0 |" in model[1]   # no FWHM without a peak


def test_files_written(rows, tmp_path):
    write_comparison(str(tmp_path / "c.md"), rows, "smoke")
    assert (tmp_path / "c.md").read_text().startswith("# Heterostructures side by side (profile `smoke`)")
    plot_comparison(rows, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 20_000
