"""Structures stage: registry, monolayers, commensurate stacks, registries, vacancies, files, errors."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from isingflow import structures as S
from isingflow.config import ConfigError, validate_config
from tests.conftest import REPO

PAPER_D_CR_NB = 6.88
A_NBSE2 = 3.44


def _config(profile="quick"):
    with open(REPO / "config" / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["profile"] = profile
    return validate_config(cfg)


@pytest.fixture(scope="module")
def quick():
    return _config("quick")


@pytest.fixture(scope="module")
def built(quick):
    return {s: S.build_system(quick, s) for s in S.list_systems(quick)}


def _plane_z(atoms, layer, element):
    sel = (atoms.arrays["layer"] == layer) & (np.array(atoms.get_chemical_symbols()) == element)
    return float(atoms.positions[sel, 2].mean())


# --------------------------------------------------------------------------- registry
def test_registry_has_the_paper_materials_with_sources():
    mats = S.load_materials()
    for name in ("NbSe2", "CrBr3", "CrI3", "CrCl3"):
        assert name in mats
        assert len(mats[name].source) > 20
    assert mats["NbSe2"].a_angstrom == pytest.approx(A_NBSE2)
    assert mats["NbSe2"].plane_element == "Nb" and mats["CrBr3"].plane_element == "Cr"
    assert {s.element: s.magmom for s in mats["CrBr3"].sites}["Cr"] == pytest.approx(3.0)


def test_registry_rejects_a_bad_entry(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"Foo": {"formula": "FooSe2", "a_angstrom": 3.0, "plane_element": "Nb",
                                           "source": "x", "sites": []}}))
    with pytest.raises(S.StructureError, match="Foo"):
        S.load_materials([bad])


def test_unknown_material_lists_the_known_ones():
    with pytest.raises(S.StructureError, match="unknown material 'CrBr4'.*CrBr3"):
        S.build_monolayer("CrBr4")


# --------------------------------------------------------------------------- monolayers
def test_nbse2_monolayer_geometry():
    at = S.build_monolayer("NbSe2", vacuum_angstrom=6.0)
    assert at.get_chemical_formula() == "NbSe2"
    assert at.cell.cellpar()[:2] == pytest.approx([A_NBSE2, A_NBSE2])
    assert at.cell.cellpar()[5] == pytest.approx(120.0)
    z = at.positions[:, 2]
    assert z.min() == pytest.approx(6.0) and at.cell[2, 2] - z.max() == pytest.approx(6.0)
    d, _, _ = S.minimum_distance(at)
    assert d == pytest.approx(np.hypot(A_NBSE2 / np.sqrt(3), 1.68), abs=1e-6)  # Nb–Se bond, 2.60 Å
    assert list(at.pbc) == [True, True, False]


def test_monolayers_of_default_config(built):
    nb = built["NbSe2-1L"]["base"][0]
    assert nb.get_chemical_formula() == "NbSe2" and len(nb.cell[0]) == 3
    assert np.linalg.norm(nb.cell[0]) == pytest.approx(A_NBSE2)
    cr = built["CrBr3-1L"]["base"][0]
    assert sorted(cr.get_chemical_symbols()) == ["Br"] * 6 + ["Cr"] * 2
    assert list(cr.get_initial_magnetic_moments()).count(3.0) == 2


# --------------------------------------------------------------------------- commensurate search
def test_search_finds_the_paper_cell_for_crbr3():
    m = S.load_materials()
    cells = [m["NbSe2"].cell_2d(), m["CrBr3"].cell_2d(), m["NbSe2"].cell_2d()]
    best = S.find_commensurate_supercell(cells, 0, max_strain_percent=10.5, max_cells=16, atoms_per_cell=[3, 8, 3])[0]
    assert [s.tolist() for s in best.supercells] == [[[2, 0], [0, 2]], [[1, 0], [0, 1]], [[2, 0], [0, 2]]]
    assert best.n_atoms == 32
    assert best.strains[0]["max_abs_percent"] == pytest.approx(0, abs=1e-9)
    assert best.strains[2]["max_abs_percent"] == pytest.approx(0, abs=1e-9)
    assert best.strains[1]["biaxial_percent"] == pytest.approx(100 * (6.88 / 6.26 - 1), abs=1e-9)
    assert best.strains[1]["twist_deg"] == pytest.approx(0.0, abs=1e-9)


def test_search_respects_the_tolerance():
    m = S.load_materials()
    cells = [m["NbSe2"].cell_2d(), m["CrBr3"].cell_2d()]
    for cand in S.find_commensurate_supercell(cells, 0, max_strain_percent=3.0, max_cells=30, atoms_per_cell=[3, 8]):
        assert cand.max_abs_strain_percent <= 3.0
        assert cand.n_atoms > 20  # the 2×2/1×1 cell needs 9.9 %
    cri3 = S.find_commensurate_supercell([m["NbSe2"].cell_2d(), m["CrI3"].cell_2d()], 0, max_strain_percent=1.0,
                                         atoms_per_cell=[3, 8])[0]
    assert cri3.n_atoms == 20 and cri3.strains[1]["biaxial_percent"] == pytest.approx(100 * (6.88 / 6.867 - 1))


def test_reference_layer_takes_no_strain():
    m = S.load_materials()
    cells = [m["NbSe2"].cell_2d(), m["CrBr3"].cell_2d()]
    best = S.find_commensurate_supercell(cells, reference_layer=1, max_strain_percent=10.5, atoms_per_cell=[3, 8])[0]
    assert np.linalg.norm(best.cell_angstrom[0]) == pytest.approx(6.26)
    assert best.strains[1]["max_abs_percent"] == pytest.approx(0, abs=1e-9)
    assert best.strains[0]["biaxial_percent"] == pytest.approx(100 * (6.26 / 6.88 - 1))


# --------------------------------------------------------------------------- stacks
def test_trilayer_of_the_paper(built):
    at, params = built["NbSe2-CrBr3-NbSe2"]["base"]
    assert S.composition(at.get_chemical_symbols()) == {"Nb": 8, "Se": 16, "Cr": 2, "Br": 6}
    assert at.cell.cellpar()[:2] == pytest.approx([6.88, 6.88])
    lay = at.arrays["layer"]
    assert sorted(set(lay)) == [0, 1, 2]
    d_bottom = _plane_z(at, 1, "Cr") - _plane_z(at, 0, "Nb")
    d_top = _plane_z(at, 2, "Nb") - _plane_z(at, 1, "Cr")
    assert d_bottom == pytest.approx(PAPER_D_CR_NB) and d_top == pytest.approx(PAPER_D_CR_NB)
    strains = [lm["strain"]["biaxial_percent"] for lm in params["layers"]]
    assert strains == pytest.approx([0.0, 9.904153, 0.0], abs=1e-6)
    assert [lm["supercell_matrix"] for lm in params["layers"]] == [[[2, 0], [0, 2]], [[1, 0], [0, 1]], [[2, 0], [0, 2]]]
    moms = at.get_initial_magnetic_moments()
    assert moms[np.array(at.get_chemical_symbols()) == "Cr"] == pytest.approx([3.0, 3.0])
    assert S.minimum_distance(at, interlayer_only=True)[0] > 3.5
    assert S.minimum_distance(at)[0] == pytest.approx(2.601, abs=1e-3)
    vac = 7.5  # quick profile
    assert at.positions[:, 2].min() == pytest.approx(vac)


def test_bilayer_reference_has_the_trilayer_separation(built):
    at, params = built["NbSe2-NbSe2"]["base"]
    assert at.get_chemical_formula() == "Nb2Se4"
    assert _plane_z(at, 1, "Nb") - _plane_z(at, 0, "Nb") == pytest.approx(2 * PAPER_D_CR_NB)
    tri = built["NbSe2-CrBr3-NbSe2"]["base"][0]
    assert _plane_z(tri, 2, "Nb") - _plane_z(tri, 0, "Nb") == pytest.approx(2 * PAPER_D_CR_NB)


def test_surface_distance_reference():
    at = S.build_stack(["NbSe2", "NbSe2"], [3.0], distance_reference="surfaces", vacuum_angstrom=5)
    se = np.array(at.get_chemical_symbols()) == "Se"
    z0 = at.positions[se & (at.arrays["layer"] == 0), 2].max()
    z1 = at.positions[se & (at.arrays["layer"] == 1), 2].min()
    assert z1 - z0 == pytest.approx(3.0)


def test_overlapping_layers_are_rejected():
    with pytest.raises(S.OverlapError, match="apart"):
        S.build_stack(["NbSe2", "NbSe2"], [1.0], vacuum_angstrom=5)


def test_layer_rotation_gives_2h_like_stacking():
    aa = S.build_stack(["NbSe2", "NbSe2"], [6.5])
    two_h = S.build_stack(["NbSe2", {"material": "NbSe2", "rotation_deg": 180}], [6.5])
    assert S.symmetry_info(aa)["layer_group"].startswith("p-6m2")
    assert S.symmetry_info(two_h)["layer_group"].startswith("p-3m1")  # centrosymmetric, as 2H
    with pytest.raises(S.StructureError, match="multiples of 60"):
        S.layer_atoms("NbSe2", rotation_deg=45)


# --------------------------------------------------------------------------- registries
@pytest.fixture(scope="module")
def trilayer0():
    return S.build_stack([{"material": "NbSe2", "supercell": [[2, 0], [0, 2]]},
                          {"material": "CrBr3", "supercell": [[1, 0], [0, 1]]},
                          {"material": "NbSe2", "supercell": [[2, 0], [0, 2]]}],
                         [PAPER_D_CR_NB, PAPER_D_CR_NB], vacuum_angstrom=5.0, max_strain_percent=10.5)


def test_registry_counts(trilayer0):
    rs = S.stacking_shifts(trilayer0, [1], grid=6, high_symmetry=True)
    # shifts modulo the NbSe2 primitive cell; point group D3 (order 6) merges them
    assert np.allclose(rs.shift_cell_angstrom, S.load_materials()["NbSe2"].cell_2d())
    assert rs.n_sampled == 36 and len(rs.shifts) == 10
    assert sum(r.multiplicity for r in rs.shifts) == 36
    assert sum(r.weight for r in rs.shifts) == pytest.approx(1.0)
    assert sorted(r.multiplicity for r in rs.shifts) == [1, 1, 1, 3, 3, 3, 6, 6, 6, 6]
    hs = S.stacking_shifts(trilayer0, [1], grid=0, high_symmetry=True)
    assert np.allclose([r.frac for r in hs.shifts], [(0, 0), (1 / 3, 2 / 3), (2 / 3, 1 / 3)])
    assert len(S.stacking_shifts(trilayer0, [1], grid=3, high_symmetry=False).shifts) == 4


def test_registry_equivalence_matches_pymatgen(trilayer0):
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.io.ase import AseAtomsAdaptor

    rs = S.stacking_shifts(trilayer0, [1], grid=6)
    cell2 = np.array(trilayer0.cell)[:2, :2]
    basis = rs.shift_cell_angstrom

    def struct(frac):
        at = S.apply_shift(trilayer0, [1], np.array(frac) @ basis)
        at.pbc = True
        return AseAtomsAdaptor.get_structure(at)

    sm = StructureMatcher(ltol=1e-3, stol=1e-3, angle_tol=0.1, primitive_cell=False, scale=False,
                          attempt_supercell=False)
    reps = {r.frac: struct(r.frac) for r in rs.shifts}
    for r in rs.shifts:  # every orbit member is the same structure as its representative
        for member in r.orbit[1:4]:
            assert sm.fit(reps[r.frac], struct(member)), (r.frac, member)
    keys = list(reps)
    for i in range(len(keys)):  # distinct registries are distinct structures
        for j in range(i + 1, len(keys)):
            assert not sm.fit(reps[keys[i]], reps[keys[j]]), (keys[i], keys[j])
    assert np.allclose(cell2, np.array(trilayer0.cell)[:2, :2])


def test_ensemble_variants_of_the_profiles():
    names = {p: S.list_variants(_config(p), "NbSe2-CrBr3-NbSe2") for p in ("smoke", "quick", "paper")}
    assert names["smoke"] == ["base", "reg-0.000-0.000_d-6.88", "reg-0.333-0.667_d-6.88", "reg-0.667-0.333_d-6.88"]
    # quick: the 3×3 grid (4 symmetry-distinct shifts of the trilayer, the three-fold ones among them,
    # no duplicates) at two distances; paper: the 6×6 grid (10 shifts) at four
    assert len(names["quick"]) == 1 + 4 * 2
    assert {"reg-0.000-0.000_d-6.88", "reg-0.333-0.667_d-6.88", "reg-0.667-0.333_d-6.88"} <= set(names["quick"])
    assert len(names["paper"]) == 1 + 10 * 4
    assert set(names["quick"]) <= set(names["paper"])   # the 3×3 shifts keep their names on the 6×6 grid
    assert {n.split("_d-")[1] for n in names["paper"][1:]} == {"6.28", "6.48", "6.68", "6.88"}
    for n in names["paper"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", n)


def test_ensemble_weights_and_base_duplicate(built):
    variants = built["NbSe2-CrBr3-NbSe2"]
    for d in ("6.28", "6.88"):
        w = [p["registry"]["weight"] for n, (_, p) in variants.items() if n.endswith(f"_d-{d}")]
        assert sum(w) == pytest.approx(1.0)
    assert variants["reg-0.000-0.000_d-6.88"][1].get("same_structure_as") == "base"
    at, p = variants["reg-0.333-0.667_d-6.28"]
    assert p["distances_angstrom"] == [6.28, 6.28]
    assert _plane_z(at, 1, "Cr") - _plane_z(at, 0, "Nb") == pytest.approx(6.28)


# --------------------------------------------------------------------------- vacancies
def test_vacancy_supercell_quick(built):
    at, p = built["NbSe2-VSe"]["base"]
    n = 3  # quick profile
    assert S.composition(at.get_chemical_symbols()) == {"Nb": n * n, "Se": 2 * n * n - 1}
    assert np.linalg.norm(at.cell[0]) == pytest.approx(n * A_NBSE2)
    assert p["vacancy"]["element"] == "Se" and len(p["vacancy"]["neighbours_after_removal"]) == 3
    moms = at.get_initial_magnetic_moments()
    assert sorted(moms[p["vacancy"]["neighbours_after_removal"]]) == pytest.approx([0.3] * 3)
    assert np.count_nonzero(moms) == 3


def test_vacancy_supercell_paper_size():
    at, p = S.build_system(_config("paper"), "NbSe2-VSe")["base"]
    assert len(at) == 299 and at.get_chemical_formula() == "Nb100Se199"
    assert np.linalg.norm(at.cell[0]) == pytest.approx(34.4)


def test_vacancy_of_a_stack():
    stack = S.build_stack(["NbSe2", "NbSe2"], [6.5], vacuum_angstrom=5)
    at, removed = S.vacancy_supercell(stack, 3, element="Se", layer=1, position="bottom")
    assert len(at) == 2 * 27 - 1 and removed["layer"] == 1


# --------------------------------------------------------------------------- files
def test_written_files_are_read_by_pymatgen(quick, tmp_path):
    from ase.io import read
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    for system in ("NbSe2-CrBr3-NbSe2", "NbSe2-VSe", "NbSe2-1L"):
        out = tmp_path / system
        manifest = S.write_system(quick, system, out)
        on_disk = json.loads((out / "manifest.json").read_text())
        assert list(on_disk["variants"]) == S.list_variants(quick, system)
        assert "provenance" in on_disk
        for name, rec in on_disk["variants"].items():
            cif = Structure.from_file(out / rec["files"]["cif"])
            atoms = read(out / rec["files"]["extxyz"])
            xyz = AseAtomsAdaptor.get_structure(atoms)
            assert dict(cif.composition.get_el_amt_dict()) == pytest.approx(rec["composition"])
            assert len(xyz) == rec["n_atoms"] == len(rec["layer_of_atom"]) == len(rec["initial_magmoms"])
            assert list(atoms.arrays["layer"]) == rec["layer_of_atom"]
            assert list(atoms.get_initial_magnetic_moments()) == pytest.approx(rec["initial_magmoms"])
            assert atoms.info["system"] == system and atoms.info["variant"] == name
            assert cif.lattice.a == pytest.approx(rec["in_plane_lattice_angstrom"][0], abs=1e-6)
        assert manifest["variants"].keys() == on_disk["variants"].keys()


def _schema_defaults(kind, schema_path=REPO / "workflow" / "schemas" / "systems.schema.yaml"):
    defs = yaml.safe_load(Path(schema_path).read_text())["$defs"]
    props = {**defs["common"]["properties"], **defs[kind]["properties"]}
    return {k: v["default"] for k, v in props.items() if "default" in v}


@pytest.mark.parametrize("system", ["NbSe2-1L", "NbSe2-CrBr3", "NbSe2-VSe"])
def test_schema_defaults_are_what_a_built_system_uses(quick, system):
    """Leaving out every key that has a schema default builds the same system as giving the defaults."""
    kind = quick["systems"][system]["kind"]
    defaults = _schema_defaults(kind)
    assert {"enabled", "min_distance_angstrom"} <= set(defaults)
    spec = quick["systems"][system]
    defaults = {k: v for k, v in defaults.items() if spec.get(k, v) == v}  # keys the config does not change
    omitted, explicit = copy.deepcopy(quick), copy.deepcopy(quick)
    for k in defaults:
        omitted["systems"][system].pop(k, None)
    explicit["systems"][system].update(copy.deepcopy(defaults))
    a, b = S.build_system(omitted, system), S.build_system(explicit, system)
    assert {k: a.plan.spec[k] for k in defaults} == defaults
    assert list(a) == list(b)
    for name in a:
        (at_a, p_a), (at_b, p_b) = a[name], b[name]
        assert np.allclose(at_a.positions, at_b.positions)
        assert at_a.get_chemical_symbols() == at_b.get_chemical_symbols()
        assert list(at_a.get_initial_magnetic_moments()) == list(at_b.get_initial_magnetic_moments())
        assert json.dumps(p_a, sort_keys=True, default=str) == json.dumps(p_b, sort_keys=True, default=str)


def test_a_changed_schema_default_changes_the_built_system(quick, tmp_path, monkeypatch):
    """The defaults come from the schema, not from a copy in the code."""
    from isingflow.structures import plan

    schema = yaml.safe_load(plan.SYSTEMS_SCHEMA.read_text())
    schema["$defs"]["vacancy"]["properties"]["include_pristine"]["default"] = True
    schema["$defs"]["common"]["properties"]["min_interlayer_distance_angstrom"]["default"] = 5.5
    patched = tmp_path / "systems.schema.yaml"
    patched.write_text(yaml.safe_dump(schema, allow_unicode=True))
    cfg = copy.deepcopy(quick)
    assert "include_pristine" not in cfg["systems"]["NbSe2-VSe"]
    assert S.list_variants(cfg, "NbSe2-VSe") == ["base"]
    monkeypatch.setattr(plan, "SYSTEMS_SCHEMA", patched)
    assert S.list_variants(cfg, "NbSe2-VSe") == ["base", "pristine"]
    with pytest.raises(ConfigError, match="min_interlayer_distance_angstrom = 5.5"):
        S.build_system(cfg, "NbSe2-CrBr3")


# --------------------------------------------------------------------------- bad input
def _set(cfg, path, value):
    node = cfg
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


TRI = ("systems", "NbSe2-CrBr3-NbSe2")
BAD = [
    (TRI + ("layers", 1, "material"), "CrBr4",
     "config key 'systems.NbSe2-CrBr3-NbSe2.layers[1].material': unknown material 'CrBr4'"),
    (TRI + ("max_strain_percent",), 5.0, "config key 'systems.NbSe2-CrBr3-NbSe2.layers[1].supercell'"),
    (TRI + ("distances_angstrom",), [3.0, 6.88], "config key 'systems.NbSe2-CrBr3-NbSe2.distances_angstrom'"),
    (TRI + ("distances_angstrom",), [6.88], "config key 'systems.NbSe2-CrBr3-NbSe2.distances_angstrom'"),
    (TRI + ("ensemble", "distance_range_angstrom"), [3.5, 6.88],
     "config key 'systems.NbSe2-CrBr3-NbSe2.ensemble.distance_range_angstrom'"),
    (TRI + ("ensemble", "shifted_layers"), [0, 1, 2], "systems.NbSe2-CrBr3-NbSe2.ensemble.shifted_layers"),
    (TRI + ("layers", 2, "rotation_deg"), 90, "systems.NbSe2-CrBr3-NbSe2.layers[2].rotation_deg"),
    (TRI + ("host",), "NbSe2-1L", "config key 'systems.NbSe2-CrBr3-NbSe2.host' is not used by systems of kind 'stack'"),
    (("systems", "NbSe2-1L", "material"), "NbTe9", "config key 'systems.NbSe2-1L.material'"),
    (("systems", "NbSe2-VSe", "host"), "nothing", "config key 'systems.NbSe2-VSe.host'"),
    (("systems", "NbSe2-VSe", "element"), "Te", "config key 'systems.NbSe2-VSe.element'"),
    (("systems", "NbSe2-VSe", "supercell_n"), 12, "config key 'systems.NbSe2-VSe.supercell_n'"),
    (("profiles", "quick", "structures", "vacancy_supercell"), 12,
     "config key 'profiles.quick.structures.vacancy_supercell'"),
    (("profiles", "quick", "structures", "max_atoms"), 30, "config key 'systems.NbSe2-CrBr3-NbSe2.layers'"),
    (("systems", "NbSe2-NbSe2", "same_separation_as", "system"), "NbSe2-1L",
     "config key 'systems.NbSe2-NbSe2.same_separation_as.system'"),
]


@pytest.mark.parametrize("path,value,expected", BAD, ids=[".".join(map(str, b[0][1:])) + "=" + str(b[1]) for b in BAD])
def test_bad_input_names_the_key(path, value, expected):
    cfg = _config("quick")
    _set(cfg, path, value)
    with pytest.raises(ConfigError) as err:
        S.validate_systems(cfg)
    assert expected in str(err.value)


def test_impossible_strain_in_the_search_names_the_tolerance():
    cfg = _config("quick")
    cfg["systems"]["NbSe2-CrCl3"] = {"kind": "stack", "layers": [{"material": "NbSe2"}, {"material": "CrCl3"}],
                                     "max_strain_percent": 0.5, "max_supercell_cells": 4, "distances_angstrom": [6.7]}
    with pytest.raises(ConfigError, match=r"config key 'systems\.NbSe2-CrCl3\.max_strain_percent': no commensurate"):
        S.validate_systems(validate_config(cfg))


def test_schema_rejects_unknown_system_keys():
    cfg = _config("quick")
    cfg["systems"]["NbSe2-1L"]["lattice_constant"] = 3.3
    with pytest.raises(ConfigError, match="lattice_constant"):
        validate_config(cfg)
    cfg = _config("quick")
    del cfg["profiles"]["quick"]["structures"]["n_distances"]
    with pytest.raises(ConfigError, match="n_distances"):
        validate_config(cfg)


def test_missing_profile_structures_section_is_named():
    cfg = _config("quick")
    del cfg["profiles"]["quick"]["structures"]
    with pytest.raises(ConfigError, match="profiles.quick.structures"):
        S.validate_systems(cfg)


# --------------------------------------------------------------------------- snakemake
@pytest.mark.slow
def test_snakemake_structures_target(tmp_path, snakemake_run):
    cfgfile = tmp_path / "smoke.yaml"
    cfgfile.write_text("profile: smoke\n")
    # a flag after --configfile ends its list of values, so that `structures` is read as the target
    snakemake_run(tmp_path, targets=["structures"], configfile=cfgfile, extra=["--rerun-incomplete"])
    smoke = _config("smoke")
    for system in S.list_systems(smoke):
        manifest = json.loads((tmp_path / "results" / "structures" / system / "manifest.json").read_text())
        assert list(manifest["variants"]) == S.list_variants(smoke, system)
        for rec in manifest["variants"].values():
            assert (tmp_path / "results" / "structures" / system / rec["files"]["extxyz"]).is_file()
    tri = json.loads((tmp_path / "results/structures/NbSe2-CrBr3-NbSe2/manifest.json").read_text())
    assert tri["variants"]["base"]["formula"] == "Nb8Se16Cr2Br6"


@pytest.mark.slow
def test_snakemake_dry_run_fails_on_bad_structure_config(tmp_path, snakemake_run):
    bad = copy.deepcopy(_config("smoke"))
    bad["systems"]["NbSe2-CrBr3-NbSe2"]["layers"][1]["material"] = "CrBr4"
    cfgfile = tmp_path / "bad.yaml"
    cfgfile.write_text(yaml.safe_dump({"systems": {"NbSe2-CrBr3-NbSe2": bad["systems"]["NbSe2-CrBr3-NbSe2"]}}))
    proc = snakemake_run(tmp_path, targets=["structures"], configfile=cfgfile, extra=["-n"], check=False)
    assert proc.returncode != 0
    assert "systems.NbSe2-CrBr3-NbSe2.layers[1].material" in proc.stdout
    assert not (tmp_path / "results").exists()


def test_system_config_holds_only_what_the_system_uses():
    """A rule's params: changing the vacancy supercell must not trigger a rebuild of the stacks."""
    cfg = _config("quick")
    tri = S.system_config(cfg, "NbSe2-CrBr3-NbSe2")["profiles"]["quick"]["structures"]
    vac = S.system_config(cfg, "NbSe2-VSe")["profiles"]["quick"]["structures"]
    mono = S.system_config(cfg, "NbSe2-1L")["profiles"]["quick"]["structures"]
    assert "vacancy_supercell" not in tri and tri["n_distances"] == 2
    assert vac["vacancy_supercell"] == 3 and "shift_grid" not in vac
    assert set(mono) == {"max_atoms"}
