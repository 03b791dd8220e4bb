"""Material-library entries cut from structure files: layers found at the van der Waals gaps,
lattice, sites, moments and reference plane derived, bad files rejected with the file named."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from ase import Atoms
from ase.build import bulk
from ase.io import write

from isingflow import structures as S
from isingflow.config import validate_config
from isingflow.structures.errors import StructureError
from isingflow.structures.from_file import layer_from_file, split_layers
from isingflow.structures.materials import load_materials
from tests.conftest import REPO


def _library(tmp_path, entries: dict):
    path = tmp_path / "lib.yaml"
    path.write_text(yaml.safe_dump(entries))
    return load_materials([path])


def test_cr2ge2te6_is_cut_from_its_bulk_cif():
    mat = load_materials()["Cr2Ge2Te6"]
    assert (mat.formula, mat.role, mat.plane_element, mat.n_atoms) == ("Cr2Ge2Te6", "magnet", "Cr", 10)
    assert mat.a_angstrom == pytest.approx(6.8275) and mat.gamma_deg == pytest.approx(120.0)
    z = {el: sorted(round(s.z_angstrom, 2) for s in mat.sites if s.element == el) for el in mat.elements}
    assert z["Cr"] == [0.0, 0.0] and z["Ge"] == [-1.21, 1.21] and z["Te"] == [-1.71] * 3 + [1.71] * 3
    assert {s.element: s.magmom for s in mat.sites} == {"Cr": 3.0, "Ge": 0.0, "Te": 0.0}
    assert mat.as_dict()["structure_file"] == "structures/files/Cr2Ge2Te6.cif"


def test_nbs2_monolayer_from_bulk_2h_poscar():
    """2H holds two layers (rotated by 180°); either gives a 1H layer of the same geometry."""
    path = REPO / "structures" / "files" / "NbS2-2H.vasp"
    layers = [layer_from_file(path, i) for i in (0, 1)]
    assert [lay["n_layers"] for lay in layers] == [2, 2]
    for lay in layers:
        assert sorted(lay["symbols"]) == ["Nb", "S", "S"]
        assert np.ptp(lay["z_angstrom"]) == pytest.approx(2 * 0.132 * 11.89, abs=1e-6)
    mat = load_materials()["NbS2"]
    assert mat.role == "superconductor" and mat.plane_element == "Nb" and mat.a_angstrom == pytest.approx(3.31)


def test_monolayer_file_round_trip_gives_the_library_entry(tmp_path):
    """A NbSe2 monolayer written to extxyz (vacuum along c) comes back as the hand-typed entry."""
    ref = load_materials()["NbSe2"]
    atoms = S.build_monolayer("NbSe2", vacuum_angstrom=6.0)
    write(tmp_path / "nbse2.extxyz", atoms)
    mat = _library(tmp_path, {"X": {"structure_file": "nbse2.extxyz", "source": "test", "role": "superconductor"}})["X"]
    assert mat.a_angstrom == pytest.approx(ref.a_angstrom) and mat.plane_element == "Nb"
    def key(sites):
        return sorted((s.element, round(s.frac[0] % 1, 6), round(s.frac[1] % 1, 6), round(s.z_angstrom, 6))
                      for s in sites)

    assert key(mat.sites) == key(ref.sites)


def test_split_layers_across_the_cell_boundary():
    z = np.array([9.5, 0.3, 0.8, 4.0, 4.6, 5.2])      # one layer wraps around z = 0 (period 10)
    layers = split_layers(z, 10.0, 2.0)
    assert [sorted(lay.tolist()) for lay in layers] == [[0, 1, 2], [3, 4, 5]] or \
        [sorted(lay.tolist()) for lay in layers] == [[3, 4, 5], [0, 1, 2]]
    assert split_layers(np.array([0.0, 1.5, 3.0, 4.5]), 6.0, 2.0) == []


@pytest.mark.parametrize("case", ["unreadable", "not_layered", "overlap", "no_moment", "layer_index", "tilted",
                                  "missing"])
def test_bad_structure_files_are_rejected_with_the_file_named(tmp_path, case):
    entry = {"source": "test", "structure_file": "bad.extxyz"}
    f = tmp_path / "bad.extxyz"
    if case == "unreadable":
        f.write_text("this is not a structure file\n")
        match = "bad.extxyz: unreadable"
    elif case == "not_layered":
        write(f, bulk("Fe", "bcc", a=2.87, cubic=True))
        match = "bad.extxyz: not layered"
    elif case == "overlap":
        write(f, Atoms("Nb2", positions=[[0, 0, 5], [0.1, 0, 5]], cell=[3.4, 3.4, 20], pbc=True))
        match = "bad.extxyz: overlapping atoms"
    elif case == "no_moment":
        write(f, Atoms("Ge2", positions=[[0, 0, 5], [0, 0, 7.4]], cell=[4, 4, 20], pbc=True))
        entry["role"] = "magnet"
        match = "a magnet with no moment"
    elif case == "layer_index":
        write(f, S.build_monolayer("NbSe2", vacuum_angstrom=6.0))
        entry["layer_index"] = 3
        match = "layer_index 3 out of range"
    elif case == "tilted":
        cell = [[3.44, 0, 0.5], [-1.72, 2.98, 0], [0, 0, 20]]
        write(f, Atoms("Nb", positions=[[0, 0, 5]], cell=cell, pbc=True))
        match = "must lie in the plane of the layers"
    else:
        match = "bad.extxyz: structure file not found"
    with pytest.raises(StructureError, match=match) as err:
        _library(tmp_path, {"Bad": entry})
    assert "bad.extxyz" in str(err.value)


def test_a_stack_with_the_file_magnet_builds_on_the_common_cell():
    """NbSe2/Cr2Ge2Te6/NbSe2: 2×2 NbSe2 on 1×1 Cr2Ge2Te6 (0.77 % strain) from the supercell search;
    the manifest names the structure file and the moments come from the entry."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg = copy.deepcopy(cfg)
    cfg["profile"] = "quick"
    cfg["systems"]["NbSe2-CGT-NbSe2"] = {
        "kind": "stack", "layers": [{"material": "NbSe2"}, {"material": "Cr2Ge2Te6"}, {"material": "NbSe2"}],
        "reference_layer": 0, "max_strain_percent": 1.0, "max_supercell_cells": 16,
        "distances_angstrom": [7.2, 7.2]}
    built = S.build_system(validate_config(cfg), "NbSe2-CGT-NbSe2")
    atoms, params = built["base"]
    syms = atoms.get_chemical_symbols()
    assert syms.count("Nb") == 8 and syms.count("Cr") == 2 and syms.count("Te") == 6
    assert [m for m, s in zip(atoms.get_initial_magnetic_moments(), syms) if s == "Cr"] == [3.0, 3.0]
    cgt = params["layers"][1]
    assert cgt["material"] == "Cr2Ge2Te6" and cgt["supercell_matrix"] == [[1, 0], [0, 1]]
    assert cgt["strain"]["max_abs_percent"] == pytest.approx(100 * (6.88 / 6.8275 - 1), abs=0.01)
