"""Configuration schema: the shipped config is valid; broken configs are rejected naming the key."""
import copy

import pytest
import yaml

from isingflow.config import ConfigError, validate_config
from tests.conftest import REPO, run_snakemake


@pytest.fixture
def config():
    with open(REPO / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_shipped_config_is_valid(config):
    validate_config(copy.deepcopy(config))


def _set(cfg, dotted, value):
    keys = dotted.split(".")
    node = cfg
    for k in keys[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value


_DELETE = object()

BROKEN = [
    # (dotted key, bad value, text expected in the message)
    ("profile", "turbo", "profile"),
    ("profile", 3, "profile"),
    ("profiles.quick.dft.kpt_density_per_inv_angstrom", -1.0, "profiles.quick.dft.kpt_density_per_inv_angstrom"),
    ("profiles.quick.dft.kpt_density_per_inv_angstrom", 0, "profiles.quick.dft.kpt_density_per_inv_angstrom"),
    ("profiles.smoke.dft.mode", "fd", "profiles.smoke.dft.mode"),
    ("profiles.smoke.dft.maxiter", "many", "profiles.smoke.dft.maxiter"),
    ("profiles.paper.dft.smearing_eV", _DELETE, "smearing_eV"),
    ("dft.code", "abinit", "dft.code"),
    ("dft.band_path", "GXYZ", "dft.band_path"),
    ("dft.hubbard_u_eV", {"Cr": -3.0}, "dft.hubbard_u_eV.Cr"),
    ("dft.kpoints", 12, "'kpoints'"),
    ("dft.xc", "B3LYP", "dft.xc"),
    ("dft.unfold_material", 3.0, "dft.unfold_material"),
    ("model.fig2.T", -0.5, "model.fig2.T"),
    ("model.fig2.soc", "rashba", "model.fig2.soc"),
    ("model.fig2.B", "0.45", "model.fig2.B"),
    ("model.fig2.gamma0", 0, "model.fig2.gamma0"),
    ("model.fig3b", _DELETE, "fig3b"),
    ("model.from_dft.enabled", "yes", "model.from_dft.enabled"),
    ("extract.lambda_ex.window_eV", -1, "extract.lambda_ex.window_eV"),
    ("extract.field.convention", "third", "extract.field.convention"),
    ("extract.superconductor_layers", [0, 2], "extract"),   # derived per heterostructure, not a key any more
    ("heterostructures.NbSe2-CrBr3-NbSe2.layers", ["NbSe2", "CrBr3", "NbSe3"],
     "heterostructures.NbSe2-CrBr3-NbSe2.layers"),
    ("heterostructures.NbSe2-CrBr3-NbSe2.layers", ["NbSe2", "CrBr3", "CrI3"], "heterostructures.NbSe2-CrBr3-NbSe2"),
    ("heterostructures.NbSe2-CrBr3", {"layers": ["NbSe2", "CrBr3"]}, "heterostructures.NbSe2-CrBr3.layers"),
    ("heterostructures.NbSe2-CrBr3-NbSe2.supercells", [[[2, 0], [0, 2]]],
     "heterostructures.NbSe2-CrBr3-NbSe2.supercells"),
    ("heterostructures.NbSe2-CrBr3-NbSe2.colour", "blue", "heterostructures.NbSe2-CrBr3-NbSe2"),
    ("extract.heterostructure", "NbSe2-CrI3-NbSe2", "extract.heterostructure"),
    ("extract.spin_filter.n_layers", [0], "extract.spin_filter.n_layers.0"),
    ("profiles.quick.structures.vacancy_supercell", 0, "profiles.quick.structures.vacancy_supercell"),
    ("profiles.smoke.dft.vacuum_angstrom", 0.5, "profiles.smoke.dft.vacuum_angstrom"),
    ("systems.NbSe2-1L.kind", "nanotube", "systems.NbSe2-1L"),
    ("heterostructures.NbSe2-CrBr3-NbSe2.superconductor_bilayer", "NbSe2-2L",
     "heterostructures.NbSe2-CrBr3-NbSe2.superconductor_bilayer"),
    ("profiles.quick.dft.system_overrides", {"NbSe-VSe": {"smearing_eV": 0.1}}, "profiles.quick.dft.system_overrides"),
    ("profiles.quick.dft.system_overrides", {"NbSe2-VSe": {"basis": "szp"}},
     "profiles.quick.dft.system_overrides.NbSe2-VSe"),
    ("heterostructures.NbSe2-CrBr3-NbSe2.ensemble_system", "NbSe2-1L",
     "heterostructures.NbSe2-CrBr3-NbSe2.ensemble_system"),
    ("heterostructures.NbSe2-CrBr3-NbSe2.ensemble_system", "NbSe2-CrBr3-NbSe3",
     "heterostructures.NbSe2-CrBr3-NbSe2.ensemble_system"),
]


@pytest.mark.parametrize("key,value,expected", BROKEN, ids=[b[0] + "=" + repr(b[1]) for b in BROKEN])
def test_broken_config_names_the_key(config, key, value, expected):
    _set(config, key, value)
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert expected in str(err.value)


def test_profile_override_selects_settings(config):
    config["profile"] = "smoke"
    validate_config(config)
    from isingflow.config import profile_settings

    assert profile_settings(config, "dft")["kpt_density_per_inv_angstrom"] == \
        config["profiles"]["smoke"]["dft"]["kpt_density_per_inv_angstrom"]


def test_dry_run_rejects_bad_config_before_any_job(tmp_path):
    proc = run_snakemake(tmp_path, config={"profile": "turbo"}, extra=["-n"], check=False)
    assert proc.returncode != 0
    assert "config key 'profile'" in proc.stdout
    assert not (tmp_path / "results").exists()


def test_dry_run_shows_the_dag(tmp_path):
    proc = run_snakemake(tmp_path, config={"profile": "smoke"}, extra=["-n"])
    for rule in ("dft_ground_state", "dft_bands", "monolayer_soc"):
        assert rule in proc.stdout


# Problems only the structure builder can see (known materials, strains): `snakemake -n` must stop
# before any job with the key named.
SEMANTIC = [
    ({"systems": {"NbSe2-1L": {"kind": "monolayer", "material": "NbSe3"}}}, "systems.NbSe2-1L.material"),
    ({"systems": {"NbSe2-CrBr3-NbSe2": {"max_strain_percent": 2.0}}}, "NbSe2-CrBr3-NbSe2"),
]


@pytest.mark.parametrize("override,expected", SEMANTIC, ids=["unknown-material", "impossible-strain"])
def test_dry_run_rejects_semantic_errors(tmp_path, override, expected):
    with open(REPO / "config" / "config.yaml") as fh:
        config = yaml.safe_load(fh)
    for system, patch in override["systems"].items():
        config["systems"][system].update(patch)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    proc = run_snakemake(tmp_path, configfile=bad, extra=["-n"], check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout
    assert not (tmp_path / "results").exists()


def test_missing_config_file_is_named(tmp_path):
    proc = run_snakemake(tmp_path, configfile=tmp_path / "nope.yaml", extra=["-n"], check=False)
    assert proc.returncode != 0 and "nope.yaml" in proc.stdout
