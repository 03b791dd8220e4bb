"""Quantum ESPRESSO parsers against the real third-party outputs vendored in tests/fixtures/dft (see its README.md)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from ase.units import Hartree
from fixtures import dft_fixtures

from isingflow.dft import read_bands
from isingflow.dft.qe import (
    read_atomic_proj,
    read_projwfc_output,
    read_pw_output,
    read_qe_bands,
    read_qe_xml,
)

FIXTURES = dft_fixtures()
QE = FIXTURES / "qe"

CRI3 = QE / "CrI3_monolayer_lsda_U" / "benchmark.out.git.inp=CrI3.scf.1.in.args=1"
EPW = QE / "MoS2_monolayer_epw2D"


def test_cri3_text_lsda_u():
    b = read_qe_bands(CRI3)
    assert b.code == "qe" and b.code_version == "6.5Max"
    assert b.fermi_level == pytest.approx(1.2390)
    assert b.eigenvalues.shape == (2, 2, 42)                 # SPIN UP / SPIN DOWN, 2 k, 42 states
    assert b.symbols == ["Cr", "Cr"] + ["I"] * 6
    np.testing.assert_allclose(b.magmoms[:2], [3.066, 3.066], atol=1e-3)
    np.testing.assert_allclose(b.magmoms[2:], -0.081, atol=1e-3)
    assert b.provenance["total_magnetization"] == pytest.approx(6.00)
    assert b.provenance["absolute_magnetization"] == pytest.approx(7.61)
    assert b.weights.sum() == pytest.approx(1.0) and not b.soc
    # k-points: Gamma and a zone-boundary point of the 2x2x1 mesh, fractional
    np.testing.assert_allclose(b.kpoints[0], 0, atol=1e-6)
    assert np.abs(b.kpoints[1]).max() == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize("name, nk, nb, soc, homo, lumo, version", [
    ("benchmark.out.git.inp=scf.in.args=0", 2, 13, False, -6.2741, None, "7.5"),
    ("benchmark.out.git.inp=scf_epw.in.args=0", 4, 26, True, -5.9498, None, "7.4"),
    ("benchmark.out.git.inp=nscf_epw.in.args=1", 16, 34, True, -5.9498, -3.7783, "7.4"),
])
def test_mos2_epw_text(name, nk, nb, soc, homo, lumo, version):
    b = read_qe_bands(EPW / name)
    assert b.eigenvalues.shape == (1, nk, nb) and b.soc is soc and b.code_version == version
    assert b.fermi_level == pytest.approx(homo)            # insulator: the highest occupied level
    assert b.provenance["homo_lumo_eV"][0] == pytest.approx(homo)
    if lumo is not None:
        assert b.provenance["homo_lumo_eV"][1] == pytest.approx(lumo)
        assert b.eigenvalues[0][b.eigenvalues[0] > homo + 1e-4].min() == pytest.approx(lumo, abs=1e-4)
    assert b.eigenvalues.max(initial=-1e9, where=b.eigenvalues <= homo + 1e-4) == pytest.approx(homo, abs=1e-4)
    if soc:  # spinor layout: Kramers pairs at Gamma (a TRIM); no inversion in the monolayer, so
        e = b.eigenvalues[0]  # away from TRIMs the pairs are spin-split (Ising SOC)
        np.testing.assert_allclose(e[0, 0::2], e[0, 1::2], atol=2e-3)
        assert np.abs(e[:, 0::2] - e[:, 1::2]).max() > 0.01
    assert b.symbols == ["Mo", "S", "S"] and b.magmoms is None


def test_ni_example01_text_pair():
    folder = QE / "Ni_example01_text"
    scf = read_pw_output(folder / "ni.scf.david.out")
    assert scf["fermi_level"] == pytest.approx(15.2989)
    assert scf["total_magnetization"] == pytest.approx(0.62) and scf["nks"] == 60
    assert scf["eigenvalues"] is None                      # >= 100 k x spin: not printed
    np.testing.assert_allclose(scf["magmoms"], [0.6538])
    with pytest.raises(ValueError, match="did not print the eigenvalues"):
        read_qe_bands(folder / "ni.scf.david.out")
    b = read_qe_bands(folder / "ni.band.david.out")
    assert b.eigenvalues.shape == (2, 28, 8)
    assert b.fermi_level == pytest.approx(15.2989)         # no Fermi level printed: taken from the SCF
    assert b.provenance["fermi_level_from"].endswith("ni.scf.david.out")
    assert b.magmoms is None and labels(b)[0] == "G"
    bf = read_qe_bands(folder)                              # the folder: the band run is chosen
    np.testing.assert_array_equal(bf.eigenvalues, b.eigenvalues)


def labels(b):
    return [s for _, s in b.path_labels]


def test_ni_bands_xml_with_projwfc():
    folder = QE / "Ni_bands_lsda_xml"
    b = read_qe_bands(folder / "bands.xml")
    assert b.code_version == "7.0"
    assert b.eigenvalues.shape == (2, 71, 10)
    assert b.fermi_level == pytest.approx(0.657734 * Hartree, abs=1e-4)
    assert b.fermi_level == pytest.approx(17.898, abs=1e-3)
    assert b.magmoms is None                                # a bands run does not recompute moments
    assert "does not recompute" in b.provenance["magmoms_note"]
    assert b.path_labels == [(0, "G"), (20, "L"), (30, "W"), (40, "X"), (50, "G"), (70, "K")]
    assert b.projections.shape == (2, 71, 10, 1)
    # one atom: the summed |<phi|psi>|^2 of the valence bands is close to 1
    assert np.all(b.projections[:, :, :5].sum(axis=-1) > 0.9)
    info = read_projwfc_output(folder / "projwfc.out")
    assert len(info["state_atoms"]) == 13 and set(info["state_atoms"]) == {0}
    ap = read_atomic_proj(folder / "atomic_proj.xml", info["state_atoms"])
    assert (ap["nspin"], ap["nk"], ap["nbnd"]) == (2, 71, 10)
    # the projwfc text (3 decimals) agrees with atomic_proj.xml
    np.testing.assert_allclose(info["projections"].reshape(2, 71, 10, 1), ap["projections"], atol=6e-3)


def test_feo_afm_dftu_xml():
    b = read_qe_bands(QE / "FeO_afm_dftu" / "scf.xml")
    assert b.eigenvalues.shape == (2, 6, 26)
    assert b.fermi_level == pytest.approx(0.594932 * Hartree, abs=1e-4)
    assert b.fermi_level == pytest.approx(16.189, abs=1e-3)
    assert b.symbols == ["Fe", "Fe", "O", "O"]               # species Fe1/Fe2 -> Fe
    np.testing.assert_allclose(b.magmoms[:2], [3.304, -3.304], atol=1e-3)
    assert abs(b.magmoms[2:]).max() < 1e-3
    assert b.provenance["total_magnetization"] == pytest.approx(-0.0001, abs=1e-4)
    assert b.provenance["absolute_magnetization"] == pytest.approx(7.53, abs=5e-3)


def test_mos2_bulk_vdw_xml():
    b = read_qe_bands(QE / "MoS2_bulk_vdw")
    assert b.eigenvalues.shape == (1, 32, 30)
    assert b.fermi_level == pytest.approx(0.409109 * Hartree, abs=1e-4)
    assert b.fermi_level == pytest.approx(11.132, abs=1e-3)
    assert sorted(b.symbols) == ["Mo", "Mo", "S", "S", "S", "S"] and b.magmoms is None


def test_bas_text_and_xml_agree():
    folder = QE / "BAs_text_xml_pair"
    for stem, nk, ef in (("scf", 8, 11.8375), ("bands", 456, 12.0350)):
        t = read_qe_bands(folder / f"{stem}.out")
        x = read_qe_bands(folder / f"{stem}.xml")
        assert t.eigenvalues.shape == x.eigenvalues.shape == (1, nk, 13)
        assert t.fermi_level == pytest.approx(ef) and x.fermi_level == pytest.approx(ef, abs=1e-4)
        np.testing.assert_allclose(t.eigenvalues, x.eigenvalues, atol=1e-3)
        # the alat edge case: cell and fractional k-points agree between text and XML
        np.testing.assert_allclose(t.cell, x.cell, atol=1e-4)
        np.testing.assert_allclose(t.kpoints, x.kpoints, atol=2e-5)
    folder_b = read_qe_bands(folder)
    assert folder_b.provenance["chosen_from_folder"]["chosen"] == "bands.xml"
    assert folder_b.nkpts == 456 and len(folder_b.path_labels) >= 2  # an explicit path: labelled


def test_fe_nscf_projwfc_text():
    folder = QE / "Fe_nscf_lsda_projwfc"
    b = read_qe_bands(folder)
    assert b.code_version == "6.6"
    assert b.eigenvalues.shape == (2, 2, 24)
    assert b.fermi_level == pytest.approx(0.693626 * Hartree, abs=1e-4)
    assert b.fermi_level == pytest.approx(18.874, abs=1e-3)
    assert b.magmoms is None and b.path_labels == []        # nscf on a 2x1x1 mesh
    assert b.projections.shape == (2, 2, 24, 2)
    assert "aiida.out" in b.provenance["projections_source"]
    # first state at Gamma: 0.452*[#14] + 0.452*[#1] + 0.048*[#2] + 0.048*[#15] -> 0.5 per Fe
    np.testing.assert_allclose(b.projections[0, 0, 0], [0.5, 0.5], atol=1e-3)


def test_si2_two_fermi_energies():
    folder = QE / "Si2_lsda_two_fermi"
    x = read_qe_bands(folder / "data-file-schema.xml")
    t = read_qe_bands(folder / "aiida.out")
    for b in (x, t):
        assert b.eigenvalues.shape == (2, 3, 9)
        up, dw = b.provenance["fermi_energies_up_down_eV"]
        assert up == pytest.approx(6.7565, abs=1e-3) and dw == pytest.approx(5.6206, abs=1e-3)
        assert b.fermi_level == pytest.approx(6.7565, abs=1e-3)   # the higher of the two
        np.testing.assert_allclose(b.magmoms, [0.206, 0.206], atol=1e-3)
    up_down = read_qe_xml(folder / "data-file-schema.xml")["fermi_up_down"]
    assert up_down[0] == pytest.approx(0.248297 * Hartree, abs=1e-4)
    assert "aiida.out" in x.provenance["magmoms_source"]   # QE 6.6 XML has no site moments
    assert t.provenance["total_magnetization"] == pytest.approx(1.00)


def test_zni2_qe75_text_and_xml():
    folder = QE / "ZnI2_lsda_qe75"
    x = read_bands(folder / "data-file-schema.xml")         # through the package front door
    t = read_bands(folder / "aiida.out")
    assert x.code == t.code == "qe" and x.code_version == "7.5"
    for b in (x, t):
        assert b.eigenvalues.shape == (2, 126, 21)
        assert b.fermi_level == pytest.approx(6.0386, abs=1e-4)
        assert b.symbols == ["Zn", "I", "I"]
        np.testing.assert_allclose(np.linalg.norm(b.cell, axis=1), [4.01, 4.01, 6.87], atol=0.01)
    assert x.fermi_level == pytest.approx(0.221915 * Hartree, abs=1e-4)
    np.testing.assert_allclose(t.eigenvalues, x.eigenvalues, atol=1e-3)
    np.testing.assert_allclose(t.kpoints, x.kpoints, atol=2e-5)
    assert x.provenance["absolute_magnetization"] == pytest.approx(0.0005, abs=1e-4)
    assert np.abs(x.magmoms).max() < 1e-3


# --------------------------------------------------------------------------------------
# bad output
# --------------------------------------------------------------------------------------
# (fixture file, what to read after cutting it: None = the file, "." = the folder, or a sibling)
PARSED = [
    ("BAs_text_xml_pair/scf.out", None),
    ("BAs_text_xml_pair/scf.xml", None),
    ("BAs_text_xml_pair/bands.out", None),
    ("BAs_text_xml_pair/bands.xml", "."),
    ("CrI3_monolayer_lsda_U/benchmark.out.git.inp=CrI3.scf.1.in.args=1", "."),
    ("FeO_afm_dftu/scf.xml", "."),
    ("Fe_nscf_lsda_projwfc/aiida.out", "data-file-schema.xml"),
    ("Fe_nscf_lsda_projwfc/data-file-schema.xml", "."),
    ("MoS2_bulk_vdw/scf.xml", None),
    ("MoS2_monolayer_epw2D/benchmark.out.git.inp=nscf_epw.in.args=1", None),
    ("MoS2_monolayer_epw2D/benchmark.out.git.inp=scf.in.args=0", None),
    ("MoS2_monolayer_epw2D/benchmark.out.git.inp=scf_epw.in.args=0", "."),
    ("Ni_bands_lsda_xml/bands.xml", "."),
    ("Ni_bands_lsda_xml/atomic_proj.xml", "bands.xml"),
    ("Ni_bands_lsda_xml/projwfc.out", "bands.xml"),
    ("Ni_example01_text/ni.band.david.out", "."),
    ("Ni_example01_text/ni.scf.david.out", "ni.band.david.out"),
    ("Si2_lsda_two_fermi/aiida.out", "data-file-schema.xml"),
    ("Si2_lsda_two_fermi/data-file-schema.xml", None),
    ("ZnI2_lsda_qe75/aiida.out", None),
    ("ZnI2_lsda_qe75/data-file-schema.xml", "."),
]


def _copy_with_cut(tmp_path: Path, rel: str, fraction: float) -> Path:
    src = QE / rel
    dst = tmp_path / src.parent.name
    shutil.copytree(src.parent, dst)
    raw = src.read_bytes()
    (dst / src.name).chmod(0o644)
    (dst / src.name).write_bytes(raw[: int(len(raw) * fraction)])
    return dst / src.name


@pytest.mark.parametrize("fraction", [0.5, 0.1])
@pytest.mark.parametrize("rel, entry", PARSED, ids=[p for p, _ in PARSED])
def test_truncated_fixture_is_an_error(tmp_path, rel, entry, fraction):
    cut = _copy_with_cut(tmp_path, rel, fraction)
    target = cut if entry is None else (cut.parent if entry == "." else cut.parent / entry)
    with pytest.raises(ValueError) as err:
        read_qe_bands(target)
    assert cut.name in str(err.value)
    assert any(w in str(err.value) for w in ("truncated", "unfinished", "malformed"))


@pytest.mark.parametrize("rel", [p for p, _ in PARSED])
def test_empty_file_is_an_error(tmp_path, rel):
    empty = _copy_with_cut(tmp_path, rel, 0.0)
    if empty.name == "atomic_proj.xml":
        call = lambda p: read_atomic_proj(p, [0] * 13)  # noqa: E731
    elif empty.name == "projwfc.out" or empty.parent.name == "Fe_nscf_lsda_projwfc" and empty.name == "aiida.out":
        call = read_projwfc_output
    else:
        call = read_qe_bands
    with pytest.raises(ValueError, match="empty file") as err:
        call(empty)
    assert str(empty) in str(err.value)


@pytest.mark.parametrize("foreign", [
    "vasp/FeCl2_monolayer_hse_bands/vasprun.xml",
    "vasp/Co_outcar_magnetization/OUTCAR_MAG",
    "vasp/hBN_monolayer_hse_bands/PROCAR",
    "wannier90/MoS2_monolayer/mos2_hr.dat",
    "README.md",
])
def test_foreign_file_is_an_error(tmp_path, foreign):
    dst = tmp_path / "data-file-schema.xml" if foreign.endswith(".xml") else tmp_path / "pw.out"
    shutil.copyfile(FIXTURES / foreign, dst)
    with pytest.raises(ValueError, match="not a Quantum ESPRESSO") as err:
        read_qe_bands(dst)
    assert str(dst) in str(err.value)


def test_projection_only_files_are_refused():
    with pytest.raises(ValueError, match="projections only"):
        read_qe_bands(QE / "Ni_bands_lsda_xml" / "atomic_proj.xml")
    with pytest.raises(ValueError, match="projections only"):
        read_qe_bands(QE / "Ni_bands_lsda_xml" / "projwfc.out")


def test_unconverged_scf_is_an_error(tmp_path):
    xml = (QE / "FeO_afm_dftu" / "scf.xml").read_text()
    (tmp_path / "scf.xml").write_text(xml.replace("<convergence_achieved>true", "<convergence_achieved>false"))
    with pytest.raises(ValueError, match="not converged"):
        read_qe_bands(tmp_path / "scf.xml")
    txt = CRI3.read_text().replace("convergence has been achieved", "convergence NOT achieved")
    (tmp_path / "pw.out").write_text(txt)
    with pytest.raises(ValueError, match="not converged"):
        read_qe_bands(tmp_path / "pw.out")


def test_folder_without_output(tmp_path):
    (tmp_path / "pw.out").write_text("")
    with pytest.raises(ValueError, match="no Quantum ESPRESSO output") as err:
        read_qe_bands(tmp_path)
    assert "pw.out" in str(err.value)
