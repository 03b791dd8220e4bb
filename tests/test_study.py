"""The heterostructures of a study (isingflow.study): declared by their layers, the rest derived."""
import copy

import pytest
import yaml

from isingflow.config import ConfigError, heterostructures, validate_config
from isingflow.study import StudyError, plan_study
from tests.conftest import REPO


@pytest.fixture
def config():
    with open(REPO / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def _with_example(config):
    with open(REPO / "config" / "examples" / "magnets_on_nbse2.yaml") as fh:
        config["heterostructures"].update(yaml.safe_load(fh)["heterostructures"])
    return config


def test_the_paper_system_keeps_its_hand_written_systems(config):
    roles, new = plan_study(config)
    assert new == {}                       # every system it needs is written out in config.yaml
    h = roles["NbSe2-CrBr3-NbSe2"]
    assert (h.superconductor_layers, h.magnet_layers) == ((0, 2), (1,))
    assert (h.superconductor_element, h.magnet_element) == ("Nb", "Cr")
    assert (h.monolayer_superconductor, h.monolayer_magnet) == ("NbSe2-1L", "CrBr3-1L")
    assert (h.ensemble, h.superconductor_bilayer) == ("NbSe2-CrBr3", "NbSe2-NbSe2")
    assert h.spin_filter_layer_thickness_angstrom == pytest.approx(6.07)
    settings = h.extract_settings({"spin_filter": {"n_layers": [1, 2, 3]}})
    assert settings["spin_filter"] == {"n_layers": [1, 2, 3], "layer_thickness_angstrom": pytest.approx(6.07)}
    assert settings["bilayer"] == "NbSe2-NbSe2" and settings["magnet_layers"] == [1]


def test_four_magnets_derive_their_systems_and_share_the_monolayer(config):
    roles, new = plan_study(_with_example(config))
    assert list(roles) == ["NbSe2-CrBr3-NbSe2", "NbSe2-CrCl3-NbSe2", "NbSe2-CrI3-NbSe2", "NbSe2-Cr2Ge2Te6-NbSe2"]
    assert "NbSe2-1L" not in new           # shared with the paper's system, written once
    for magnet in ("CrCl3", "CrI3", "Cr2Ge2Te6"):
        het = f"NbSe2-{magnet}-NbSe2"
        h = roles[het]
        assert new[het]["kind"] == "stack" and h.layers == ("NbSe2", magnet, "NbSe2")
        assert [lay["material"] for lay in new[het]["layers"]] == ["NbSe2", magnet, "NbSe2"]
        assert h.monolayer_magnet == f"{magnet}-1L" and new[f"{magnet}-1L"]["kind"] == "monolayer"
        assert h.ensemble == f"NbSe2-{magnet}" and "ensemble" in new[f"NbSe2-{magnet}"]
        sc_bilayer = new[h.superconductor_bilayer]
        assert sc_bilayer["same_separation_as"] == {"system": het, "layers": [0, 2]}
    # the van der Waals start distance per interface, larger for the larger halogen
    d = {m: new[f"NbSe2-{m}-NbSe2"]["distances_angstrom"][0] for m in ("CrCl3", "CrI3")}
    assert 6.5 < d["CrCl3"] < 6.88 < d["CrI3"] < 7.2
    # the given √3×√3 R30° cells of CrCl3 reach the derived stack and its bilayer
    assert new["NbSe2-CrCl3-NbSe2"]["layers"][0]["supercell"] == [[2, 1], [-1, 1]]
    assert new["NbSe2-CrCl3"]["layers"][1]["supercell"] == [[1, 0], [0, 1]]
    # the spin-filter thickness from the material library (bulk repeat per layer)
    assert roles["NbSe2-CrI3-NbSe2"].spin_filter_layer_thickness_angstrom == pytest.approx(6.60)


def test_validate_config_adds_the_derived_systems(config):
    cfg = validate_config(_with_example(copy.deepcopy(config)))
    assert {"NbSe2-CrI3-NbSe2", "CrI3-1L", "NbSe2-CrI3", "Cr2Ge2Te6-1L"} <= set(cfg["systems"])
    assert set(heterostructures(cfg)) == set(cfg["heterostructures"])


def test_no_bilayer_ensemble_uses_the_heterostructure_itself(config):
    config["heterostructures"]["NbSe2-CrI3-NbSe2"] = {"layers": ["NbSe2", "CrI3", "NbSe2"],
                                                     "stack": {"max_strain_percent": 1.0},
                                                     "stacking_ensemble": False}
    roles, new = plan_study(config)
    assert roles["NbSe2-CrI3-NbSe2"].ensemble == "NbSe2-CrI3-NbSe2"
    assert "NbSe2-CrI3" not in new          # no one-interface bilayer to compute


def test_overrides_win_and_must_name_systems(config):
    entry = config["heterostructures"]["NbSe2-CrBr3-NbSe2"]
    entry["spin_filter_layer_thickness_angstrom"] = 6.5
    assert plan_study(config)[0]["NbSe2-CrBr3-NbSe2"].spin_filter_layer_thickness_angstrom == 6.5
    entry["monolayer_magnet"] = "CrBr3-monolayer"
    with pytest.raises(StudyError, match=r"'heterostructures.NbSe2-CrBr3-NbSe2.monolayer_magnet': 'CrBr3-monolayer'"):
        plan_study(config)


def test_errors_name_the_key(config):
    bad = copy.deepcopy(config)
    bad["heterostructures"]["X"] = {"layers": ["NbSe2", "CrBr3"]}
    with pytest.raises(StudyError, match=r"'heterostructures.X.layers'.*needs two"):
        plan_study(bad)
    bad = copy.deepcopy(config)
    bad["heterostructures"]["NbSe2-CrBr3-NbSe2"]["layers"] = ["NbSe2", "CrI3", "NbSe2"]
    with pytest.raises(StudyError, match=r"'systems.NbSe2-CrBr3-NbSe2.layers\[1\].material'.*'heterostructures.NbSe2"):
        plan_study(bad)
    bad["heterostructures"]["NbSe2-CrBr3-NbSe2"]["layers"] = ["NbSe2", "CrBr3", "NbSe2"]
    bad["systems"]["NbSe2-CrBr3-NbSe2"]["layers"][1]["material"] = "CrBr4"
    with pytest.raises(StudyError, match=r"'systems.NbSe2-CrBr3-NbSe2.layers\[1\].material': unknown material 'CrBr4'"):
        plan_study(bad)
    bad = copy.deepcopy(config)
    bad["heterostructures"]["NbSe2-CrBr3-NbSe2"]["ensemble_system"] = "NbSe2-1L"
    with pytest.raises(StudyError, match="a monolayer system, not a stack"):
        plan_study(bad)
    bad = copy.deepcopy(config)
    bad["heterostructures"]["Y"] = {"layers": ["NbSe2", "CrI3", "NbSe2"], "distances_angstrom": [6.0, 6.0],
                                    "stack": {"max_strain_percent": 1.0}}
    bad["heterostructures"]["Z"] = {"layers": ["NbSe2", "CrI3", "NbSe2"], "stack": {"max_strain_percent": 1.0}}
    with pytest.raises(StudyError, match="differs from the one of that name"):
        plan_study(bad)                     # two different NbSe2-CrI3 bilayers under one name
    with pytest.raises(ConfigError, match="heterostructures.Z"):
        validate_config(bad)


@pytest.mark.parametrize("example,expected", [
    ("magnets_on_nbse2.yaml", ["NbSe2-CrBr3-NbSe2", "NbSe2-CrCl3-NbSe2", "NbSe2-CrI3-NbSe2", "NbSe2-Cr2Ge2Te6-NbSe2"]),
    ("nbse2_cri3.yaml", ["NbSe2-CrBr3-NbSe2", "NbSe2-CrI3-NbSe2"]),
])
def test_example_studies_plan_every_heterostructure(tmp_path, example, expected):
    """`snakemake -n` of each example: every heterostructure's chain into its own folder, one comparison."""
    from tests.conftest import run_snakemake

    proc = run_snakemake(tmp_path, configfile=REPO / "config/examples" / example, config={"profile": "smoke"},
                         extra=["-n"])
    for het in expected:
        for out in ("parameters.json", "model/dft_handoff.json", "figures/fig1c.png"):
            assert f"results/heterostructures/{het}/{out}" in proc.stdout, (het, out)
    assert proc.stdout.count("rule comparison:") == 1 and proc.stdout.count("rule monolayer_soc:") == 1
    assert not (tmp_path / "results").exists()


def test_a_magnet_file_without_a_common_cell_is_refused_before_any_job(tmp_path):
    """Cr2Ge2Te6 (from its CIF) on NbSe2 within 0.2 % strain: no common cell; `snakemake -n` names
    the key and the heterostructure, and writes nothing."""
    from tests.conftest import run_snakemake

    cfg = tmp_path / "tight.yaml"
    cfg.write_text(yaml.safe_dump({"heterostructures": {"NbSe2-Cr2Ge2Te6-NbSe2": {
        "layers": ["NbSe2", "Cr2Ge2Te6", "NbSe2"], "stack": {"max_strain_percent": 0.2, "max_supercell_cells": 9}}}}))
    proc = run_snakemake(tmp_path, configfile=cfg, extra=["-n"], check=False)
    assert proc.returncode != 0
    assert "no commensurate supercell" in proc.stdout and "heterostructures.NbSe2-Cr2Ge2Te6-NbSe2" in proc.stdout
    assert not (tmp_path / "results").exists()
