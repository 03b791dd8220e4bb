"""A heterostructure at the van der Waals equilibrium of its bilayer's lowest stacking
(isingflow.structures.equilibrium, rule geometry_equilibrium_structure, the summary's column)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from isingflow import structures as S
from isingflow.config import validate_config
from isingflow.dft.gpaw.layers import plane_heights
from isingflow.structures.equilibrium import (
    EquilibriumError,
    _lateral_signature,
    equilibrium_choice,
    equilibrium_stack,
)
from isingflow.summary import write_summary
from tests.conftest import REPO, run_snakemake

TRILAYER, BILAYER = "NbSe2-CrBr3-NbSe2", "NbSe2-CrBr3"


def _curve(stacking, frac, d0, e0, d0_cp=None, e0_cp=None):
    return {"stacking": stacking, "registry_frac": frac, "d0_angstrom": d0, "e_b0_meV_per_angstrom2": e0,
            "d0_cp_angstrom": d0_cp, "e_b0_cp_meV_per_angstrom2": e0_cp, "fit_method": "morse"}


def _binding(curves):
    best = min(curves, key=lambda c: c["e_b0_meV_per_angstrom2"])
    return {"curves": curves, "lowest_stacking": best["stacking"], "d0_angstrom": best["d0_angstrom"]}


@pytest.fixture(scope="module")
def built():
    with open(REPO / "config" / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["profile"] = "smoke"
    cfg = validate_config(cfg)
    manifests = {}
    for system in (TRILAYER, BILAYER):
        variants = S.build_system(cfg, system)
        manifests[system] = {"system": system, "vacuum_angstrom": cfg["profiles"]["smoke"]["dft"][
            "vacuum_angstrom"], "variants": {v: p for v, (_a, p) in variants.items()},
            "atoms": {v: a for v, (a, _p) in variants.items()}}
    return manifests


def test_choice_takes_the_lowest_curve_and_prefers_counterpoise():
    curves = [_curve("reg-0.000-0.000", [0, 0], 6.3, -27.0, 6.7, -15.0),
              _curve("reg-0.333-0.667", [1 / 3, 2 / 3], 6.4, -26.0, 6.6, -16.0)]
    cp = equilibrium_choice(_binding(curves))
    assert cp["stacking"] == "reg-0.333-0.667" and cp["d0_angstrom"] == 6.6 and cp["counterpoise_corrected"]
    curves[1]["d0_cp_angstrom"] = None              # one curve without a corrected minimum: uncorrected
    plain = equilibrium_choice(_binding(curves))
    assert plain["stacking"] == "reg-0.000-0.000" and plain["d0_angstrom"] == 6.3
    assert not plain["counterpoise_corrected"]
    assert set(plain["stackings_e_b0_meV_per_angstrom2"]) == {"reg-0.000-0.000", "reg-0.333-0.667"}
    with pytest.raises(EquilibriumError, match="no binding curves"):
        equilibrium_choice({"curves": []})


def _stacking_of(manifest, index):
    """A registry label of the bilayer ensemble other than the base (index into the distinct shifts)."""
    regs = list(dict.fromkeys(v.rsplit("_d-", 1)[0] for v in manifest["variants"] if v != "base"))
    return regs[index]


def test_trilayer_takes_the_bilayer_stacking_and_d0(built):
    tri, bil = built[TRILAYER], built[BILAYER]
    stacking = _stacking_of(bil, 1)                 # a shift ≠ 0: the magnet must move laterally
    variant = next(v for v in bil["variants"] if v.startswith(stacking + "_d-"))
    frac = bil["variants"][variant]["registry"]["frac"]
    binding = _binding([_curve(stacking, frac, 6.52, -30.0), _curve(_stacking_of(bil, 0), [0, 0], 6.3, -20.0)])
    base = tri["atoms"]["base"]
    atoms, record = equilibrium_stack(base, tri["variants"]["base"], bil, bil["atoms"][variant], binding,
                                      [0, 2], [1], tri["vacuum_angstrom"])
    assert record["stacking"] == stacking and record["interfaces_at_d0"] == [0, 1]
    assert np.allclose(np.diff(plane_heights(atoms, ["Nb", "Cr", "Nb"])), [6.52, 6.52])
    assert np.allclose(record["shift_angstrom"], bil["variants"][variant]["registry"]["shift_angstrom"])
    assert atoms.get_chemical_symbols() == base.get_chemical_symbols()
    assert np.allclose(atoms.get_initial_magnetic_moments(), base.get_initial_magnetic_moments())
    # the lower interface is the bilayer's atom for atom; the NbSe2 layers did not move laterally
    assert _lateral_signature(atoms, [0, 1]) == _lateral_signature(bil["atoms"][variant], [0, 1])
    assert _lateral_signature(atoms, [0, 1]) != _lateral_signature(base, [0, 1])
    for layer in (0, 2):
        sel = atoms.arrays["layer"] == layer
        assert np.allclose(atoms.positions[sel, :2], base.positions[sel, :2])
    # each layer moved rigidly along z
    for layer in range(3):
        sel = atoms.arrays["layer"] == layer
        assert np.ptp(atoms.positions[sel, 2] - base.positions[sel, 2]) < 1e-9


def test_misaligned_bilayer_reference_is_refused(built):
    tri, bil = built[TRILAYER], built[BILAYER]
    stacking = _stacking_of(bil, 1)
    other = next(v for v in bil["variants"] if v.startswith(_stacking_of(bil, 0) + "_d-"))
    binding = _binding([_curve(stacking, None, 6.5, -30.0)])
    with pytest.raises(EquilibriumError, match="do not sit like the bilayer variant"):
        equilibrium_stack(tri["atoms"]["base"], tri["variants"]["base"], bil, bil["atoms"][other], binding,
                          [0, 2], [1], tri["vacuum_angstrom"])


def test_summary_has_the_equilibrium_column(tmp_path):
    het = {"lambda_ex_meV": 30.0, "m_Nb_mean_abs_muB": 0.02}
    eq = {"lambda_ex_meV": 55.0, "m_Nb_mean_abs_muB": 0.04, "geometry": {
        "stacking": "reg-0.333-0.667", "d0_angstrom": 6.52, "counterpoise_corrected": False,
        "base_distances_angstrom": [6.88, 6.88], "stackings_e_b0_meV_per_angstrom2": {"reg-0.333-0.667": -30.0}}}
    files = {}
    for name, data in (("heterostructure", het), ("equilibrium", eq), ("monolayer", {}), ("vacancy", {})):
        files[name] = str(tmp_path / f"{name}.json")
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    rows = write_summary(str(tmp_path / "summary.md"), str(REPO / "workflow" / "paper_values.yaml"), files, None,
                         "smoke")
    lam = next(r for r in rows if r["key"] == "lambda_ex_meV")
    assert lam["ours"] == 30.0 and lam["ours_equilibrium"] == 55.0
    assert next(r for r in rows if r["key"] == "vacancy_moment_muB")["ours_equilibrium"] is None
    text = (tmp_path / "summary.md").read_text()
    assert "van der Waals equilibrium" in text and "d0 = 6.52 Å" in text and "| 30 | 55 |" in text
    assert "its own binding curve" not in text
    files["lambda_at_d0"] = str(tmp_path / "lambda_ex_at_d0.json")
    (tmp_path / "lambda_ex_at_d0.json").write_text(json.dumps(
        {"lambda_ex_avg_meV": 41.5, "by_grid_meV": {"3": 41.5}, "method": "m"}))
    write_summary(str(tmp_path / "summary.md"), str(REPO / "workflow" / "paper_values.yaml"), files, None, "smoke")
    assert "at the d0 of its own binding curve instead, ⟨λex⟩ = 41.5 meV (n = 3: 41.5" in (
        tmp_path / "summary.md").read_text()
    plain = write_summary(str(tmp_path / "plain.md"), str(REPO / "workflow" / "paper_values.yaml"),
                          {k: v for k, v in files.items() if k != "equilibrium"}, None, "smoke")
    assert "ours_equilibrium" not in plain[0] and "equilibrium" not in (tmp_path / "plain.md").read_text()


def test_workflow_wires_the_equilibrium_heterostructure(tmp_path):
    proc = run_snakemake(tmp_path, targets=["all"], extra=["-n", "--quiet", "rules"],
                         config={"profile": "smoke", "geometry": {"equilibrium_heterostructures": [TRILAYER]}})
    for rule in ("binding_curves", "geometry_equilibrium_structure", "extract_heterostructure_equilibrium",
                 "lambda_ex_at_equilibrium"):
        assert rule in proc.stdout
    bad = run_snakemake(tmp_path, extra=["-n"], check=False,
                        config={"profile": "smoke", "geometry": {"equilibrium_heterostructures": ["NbSe2-X"]}})
    assert bad.returncode != 0 and "geometry.equilibrium_heterostructures[0]" in bad.stdout
