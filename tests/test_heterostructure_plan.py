"""Heterostructures declared by their layers: derived roles, distances and auxiliary systems."""
import pytest

from isingflow.structures.errors import StructureError
from isingflow.structures.heterostructures import plan_heterostructure, vdw_distance_angstrom
from isingflow.structures.materials import load_materials


def test_roles_elements_and_the_van_der_waals_start_distance():
    plan = plan_heterostructure("NbSe2-CrBr3-NbSe2", ["NbSe2", "CrBr3", "NbSe2"])
    assert (plan.superconductor_layers, plan.magnet_layers) == ((0, 2), (1,))
    assert (plan.superconductor_element, plan.magnet_element) == ("Nb", "Cr")
    # Se height + Br height + r_vdW(Se) + r_vdW(Br) = 1.68 + 1.448 + 1.90 + 1.85: the paper's 6.88 Å
    assert plan.distances_angstrom == pytest.approx((6.878, 6.878))
    mats = load_materials()
    assert vdw_distance_angstrom(mats["NbSe2"], mats["CrI3"]) == pytest.approx(1.68 + 1.488 + 1.90 + 1.98, abs=1e-3)
    spec = plan.system_spec()
    assert spec["kind"] == "stack" and spec["reference_layer"] == 0 and len(spec["layers"]) == 3


def test_auxiliary_systems_are_derived_and_shared():
    cbr = plan_heterostructure("NbSe2-CrBr3-NbSe2", ["NbSe2", "CrBr3", "NbSe2"])
    cgt = plan_heterostructure("NbSe2-Cr2Ge2Te6-NbSe2", ["NbSe2", "Cr2Ge2Te6", "NbSe2"])
    assert {r: a["name"] for r, a in cbr.auxiliary.items()} == {
        "monolayer_superconductor": "NbSe2-1L", "monolayer_magnet": "CrBr3-1L", "bilayer": "NbSe2-CrBr3",
        "superconductor_bilayer": "NbSe2-NbSe2-NbSe2-CrBr3-NbSe2-spacing"}
    bil = cbr.auxiliary["bilayer"]["spec"]
    assert bil["distances_angstrom"] == [pytest.approx(6.878)]
    assert bil["ensemble"]["distance_range_angstrom"] == [pytest.approx(6.278), pytest.approx(6.878)]
    # the NbSe2 monolayer is the same system for both (plan_study writes it once: tests/test_study.py)
    assert cbr.auxiliary["monolayer_superconductor"] == cgt.auxiliary["monolayer_superconductor"]
    assert cgt.auxiliary["bilayer"]["name"] == "NbSe2-Cr2Ge2Te6"
    one_interface = plan_heterostructure("NbSe2-CrBr3", ["NbSe2", "CrBr3"])
    assert "superconductor_bilayer" not in one_interface.auxiliary


def test_overrides_and_errors_name_the_key():
    plan = plan_heterostructure("H", ["NbSe2", "CrBr3", "NbSe2"], overrides={"distances_angstrom": [6.5, 6.6]})
    assert plan.distances_angstrom == (6.5, 6.6)
    with pytest.raises(StructureError, match=r"'heterostructures.H.layers': no magnet layer"):
        plan_heterostructure("H", ["NbSe2", "NbS2"])
    with pytest.raises(StructureError, match=r"'heterostructures.H.layers': no superconductor layer"):
        plan_heterostructure("H", ["CrBr3", "CrI3"])
    with pytest.raises(StructureError, match=r"'heterostructures.H.layers': unknown material 'Graphene'"):
        plan_heterostructure("H", ["NbSe2", "Graphene"])
    with pytest.raises(StructureError, match="distances_angstrom': 1 distances for 2 interfaces"):
        plan_heterostructure("H", ["NbSe2", "CrBr3", "NbSe2"], overrides={"distances_angstrom": [6.5]})
