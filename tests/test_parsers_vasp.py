"""VASP parsers against the real third-party outputs vendored in tests/fixtures/dft (see its README.md).

Every number checked here is quoted in the fixture README (Fermi levels, spins, k and band
counts, moments, projections); where the file and the README disagree the test says so.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures import dft_fixtures

from isingflow.dft import read_bandfile, read_bands, write_bands
from isingflow.dft.vasp import (
    read_eigenval,
    read_outcar,
    read_procar,
    read_vasp_bands,
    zero_weight_path,
)

FIXTURES = dft_fixtures()
VASP = FIXTURES / "vasp"


def labels_of(bands):
    return [s for _, s in bands.path_labels]


# --------------------------------------------------------------------------------------
# one test per fixture, numbers from the README
# --------------------------------------------------------------------------------------
def test_fecl2_hse_vasprun():
    b = read_vasp_bands(VASP / "FeCl2_monolayer_hse_bands" / "vasprun.xml")
    assert b.code == "vasp" and b.code_version == "5.4.1"
    assert b.fermi_level == pytest.approx(-3.2081, abs=1e-4)
    assert b.eigenvalues.shape == (2, 84, 24)                  # ISPIN=2, 84 k, NBANDS=24
    assert (b.weights > 0).sum() == 21 and (b.weights == 0).sum() == 63  # 21 IBZ + 63 path
    assert b.provenance["nelect"] == pytest.approx(28.0)
    assert b.symbols == ["Cl", "Cl", "Fe"] and not b.soc
    assert b.projections.shape == (2, 84, 24, 3)              # <projected>, summed over 9 orbitals
    # a low-lying band is fully projected; weights are non-negative and below ~1
    assert b.projections.min() >= 0 and b.projections.sum(axis=3).max() < 1.05
    # Gamma-M-K-Gamma on the zero-weight part only
    assert labels_of(b) == ["G", "M", "M", "K", "K", "G"]
    assert all(b.weights[i] == 0 for i, _ in b.path_labels)
    path = zero_weight_path(b)
    assert path.eigenvalues.shape == (2, 63, 24)
    assert path.path_labels[0] == (0, "G") and path.path_labels[-1] == (62, "G")
    # moments derived from the projections (no OUTCAR in the fixture): Fe carries the moment
    assert "projections" in b.provenance["magmoms_source"]
    assert 3.3 < b.magmoms[2] < 4.0 and abs(b.magmoms[0]) < 0.3
    occ_total = _cell_moment_from_occupations(VASP / "FeCl2_monolayer_hse_bands" / "vasprun.xml")
    assert occ_total == pytest.approx(4.0, abs=0.05)          # Fe2+ d6 high spin
    assert b.magmoms.sum() < occ_total + 1e-6 and b.magmoms.sum() > 0.85 * occ_total


def _cell_moment_from_occupations(vasprun: Path) -> float:
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp.outputs import Vasprun

    v = Vasprun(str(vasprun), parse_potcar_file=False)
    w = np.asarray(v.actual_kpoints_weights)
    w = w / w.sum()
    return float(w @ (v.eigenvalues[Spin.up][..., 1] - v.eigenvalues[Spin.down][..., 1]).sum(axis=1))


def test_mos2_hse_outcar_eigenval_folder():
    folder = VASP / "MoS2_monolayer_hse_bands_spin"
    b = read_vasp_bands(folder)
    assert b.source.endswith("EIGENVAL")                      # eigenvalues from EIGENVAL (6 decimals)
    assert b.code_version.startswith("5.4.1")
    assert b.fermi_level == pytest.approx(-3.3134, abs=1e-4)  # OUTCAR E-fermi
    assert b.eigenvalues.shape == (2, 84, 24)
    # README: "84 points = 27 weighted + 57 zero-weight"; the files hold 21 weighted + 63
    # zero-weight (KPOINTS, EIGENVAL and OUTCAR agree), so that is what is checked.
    assert (b.weights > 0).sum() == 21 and (b.weights == 0).sum() == 63
    assert b.symbols == ["Mo", "S", "S"]
    np.testing.assert_allclose(b.magmoms, [0.023, -0.007, -0.007], atol=1e-3)
    assert b.provenance["total_magnetization"] == pytest.approx(0.004, abs=5e-4)
    assert labels_of(b)[0] == "G" and labels_of(b)[-1] == "G" and {"K", "M"} <= set(labels_of(b))
    # the same run through the EIGENVAL file itself, and the OUTCAR's own 4-decimal eigenvalues
    b2 = read_vasp_bands(folder / "EIGENVAL")
    np.testing.assert_array_equal(b2.eigenvalues, b.eigenvalues)
    oc = read_outcar(folder / "OUTCAR")
    np.testing.assert_allclose(oc["eigenvalues"], b.eigenvalues, atol=6e-4)
    np.testing.assert_allclose(oc["kpoints"], b.kpoints, atol=1e-6)


def test_hbn_vasprun_and_procar():
    folder = VASP / "hBN_monolayer_hse_bands"
    b = read_vasp_bands(folder)
    assert b.fermi_level == pytest.approx(-5.2215, abs=1e-4)
    assert b.eigenvalues.shape == (1, 96, 8) and not b.spin_polarized
    assert (b.weights > 0).sum() == 33 and (b.weights == 0).sum() == 63
    assert b.provenance["nelect"] == pytest.approx(8.0)
    assert b.projections.shape == (1, 96, 8, 2) and b.magmoms is None
    # PROCAR: 96 k, 8 bands, 2 ions (pymatgen's Procar would merge the repeated path points to 92)
    pc = read_procar(folder / "PROCAR")
    assert pc["projections"].shape == (1, 96, 8, 2) and not pc["soc"]
    np.testing.assert_allclose(pc["eigenvalues"], b.eigenvalues, atol=1e-3)
    np.testing.assert_allclose(pc["projections"], b.projections, atol=2e-3)
    assert pc["projections"][0, 0, 0, 1] == pytest.approx(0.511)  # first ion table of the file
    bp = read_vasp_bands(folder / "PROCAR")                   # Fermi level from the vasprun beside it
    assert bp.fermi_level == b.fermi_level
    assert "PROCAR" in bp.provenance["projections_source"]


def test_mos2_spin_relax_vasprun_and_eigenval():
    folder = VASP / "MoS2_monolayer_spin_relax"
    b = read_vasp_bands(folder)
    assert b.source.endswith("vasprun.xml")
    assert b.fermi_level == pytest.approx(-3.1258, abs=1e-4)
    assert b.eigenvalues.shape == (2, 21, 20)                 # 13x13x1 Gamma mesh -> 21 IBZ points
    assert b.provenance["nelect"] == pytest.approx(24.0)
    assert b.projections is None and b.magmoms is None and b.path_labels == []
    ev = read_eigenval(folder / "EIGENVAL")
    np.testing.assert_allclose(ev["eigenvalues"], b.eigenvalues, atol=1e-3)
    be = read_vasp_bands(folder / "EIGENVAL")                 # Fermi level and cell from vasprun.xml
    assert be.fermi_level == b.fermi_level and be.source.endswith("EIGENVAL")


def test_fese_line_mode():
    b = read_vasp_bands(VASP / "FeSe_line_mode" / "vasprun_line.xml")
    assert b.fermi_level == pytest.approx(2.6880, abs=1e-4)
    assert b.eigenvalues.shape == (1, 70, 20)
    assert b.provenance["icharg"] == 11 and b.provenance["nelect"] == pytest.approx(28.0)
    assert b.symbols == ["Fe", "Fe", "Se", "Se"]
    assert b.projections.shape == (1, 70, 20, 4)
    assert b.path_labels[0] == (0, "G") and b.path_labels[-1][0] == 69
    assert len(b.path_labels) >= 6


@pytest.mark.parametrize("name, efermi, nbands, same_sign", [
    ("Fe_bcc_FM", 5.8588, 11, True),
    ("Fe_bcc_AFM", 6.0632, 12, False),
])
def test_fe_bcc_moment_signs(name, efermi, nbands, same_sign):
    b = read_vasp_bands(VASP / name)
    assert b.fermi_level == pytest.approx(efermi, abs=1e-4)
    assert b.eigenvalues.shape == (2, 120, nbands)
    assert b.projections.shape == (2, 120, nbands, 2)
    m = b.magmoms
    assert np.all(np.abs(m) > 1.0)
    if same_sign:   # MAGMOM -2.174 -2.174: the ferromagnet keeps the negative sign
        assert np.all(m < 0) and m[0] == pytest.approx(m[1], abs=1e-3)
        total = _cell_moment_from_occupations(VASP / name / "vasprun.xml")
        assert m.sum() == pytest.approx(total, rel=0.1)
    else:           # MAGMOM +2.174 -2.174
        assert m[0] > 0 > m[1] and m.sum() == pytest.approx(0.0, abs=1e-2)


def test_co_outcar_moments():
    b = read_vasp_bands(VASP / "Co_outcar_magnetization")
    assert b.fermi_level == pytest.approx(5.4373)
    assert b.eigenvalues.shape == (2, 208, 32)
    np.testing.assert_allclose(b.magmoms, [1.621, 1.619, 1.640, 1.640], atol=1e-3)
    assert b.magmoms.sum() == pytest.approx(6.521, abs=2e-3)
    assert b.symbols == ["Co"] * 4 and b.weights.sum() == pytest.approx(1.0)


def test_fe_outcar_single_via_read_bands():
    b = read_bands(VASP / "Fe_outcar_magnetization" / "OUTCAR_MAG_SINGLE")   # code guessed
    assert b.code == "vasp"
    assert b.fermi_level == pytest.approx(5.1675)
    assert b.eigenvalues.shape == (2, 35, 16)
    np.testing.assert_allclose(b.magmoms, [2.434])


def test_read_bands_dispatch_and_roundtrip(tmp_path):
    b = read_bands(VASP / "FeCl2_monolayer_hse_bands" / "vasprun.xml")
    write_bands(tmp_path / "b.npz", b)
    r = read_bandfile(tmp_path / "b.npz")
    np.testing.assert_array_equal(r.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(r.projections, b.projections)
    assert r.path_labels == b.path_labels and r.fermi_level == b.fermi_level and r.code == "vasp"


# --------------------------------------------------------------------------------------
# bad output: truncated copies of every parsed fixture file, empty files, foreign files
# --------------------------------------------------------------------------------------
# (fixture file, what to read after truncating it: None = the file, "." = its folder, or a sibling)
PARSED = [
    ("FeCl2_monolayer_hse_bands/vasprun.xml", None),
    ("MoS2_monolayer_hse_bands_spin/EIGENVAL", "."),
    ("MoS2_monolayer_hse_bands_spin/OUTCAR", "."),
    ("hBN_monolayer_hse_bands/vasprun.xml", "."),
    ("hBN_monolayer_hse_bands/PROCAR", None),
    ("MoS2_monolayer_spin_relax/vasprun.xml", "."),
    ("MoS2_monolayer_spin_relax/EIGENVAL", None),
    ("FeSe_line_mode/vasprun_line.xml", None),
    ("Fe_bcc_FM/vasprun.xml", "."),
    ("Fe_bcc_AFM/vasprun.xml", "."),
    ("Co_outcar_magnetization/OUTCAR_MAG", "."),
    ("Fe_outcar_magnetization/OUTCAR_MAG_SINGLE", None),
]


def _copy_with_cut(tmp_path: Path, rel: str, fraction: float) -> Path:
    src = VASP / rel
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
        read_vasp_bands(target)
    assert cut.name in str(err.value)
    assert any(w in str(err.value) for w in ("truncated", "unfinished", "incomplete", "malformed"))


@pytest.mark.parametrize("rel", [p for p, _ in PARSED])
def test_empty_file_is_an_error(tmp_path, rel):
    empty = _copy_with_cut(tmp_path, rel, 0.0)
    reader = {"EIGENVAL": read_eigenval, "PROCAR": read_procar, "OUTCAR": read_outcar}.get(
        empty.name.split("_")[0], read_vasp_bands)
    with pytest.raises(ValueError, match="empty file") as err:
        reader(empty)
    assert str(empty) in str(err.value)


@pytest.mark.parametrize("foreign, name", [
    ("qe/FeO_afm_dftu/scf.xml", "vasprun.xml"),
    ("qe/CrI3_monolayer_lsda_U/benchmark.out.git.inp=CrI3.scf.1.in.args=1", "OUTCAR"),
    ("qe/ZnI2_lsda_qe75/aiida.out", "EIGENVAL"),
    ("qe/Ni_bands_lsda_xml/projwfc.out", "PROCAR"),
    ("wannier90/MoS2_monolayer/mos2_hr.dat", "mos2_hr.dat"),
    ("qe/BAs_text_xml_pair/scf.out", "scf.out"),
])
def test_foreign_file_is_an_error(tmp_path, foreign, name):
    dst = tmp_path / name
    shutil.copyfile(FIXTURES / foreign, dst)
    with pytest.raises(ValueError, match="not a VASP") as err:
        read_vasp_bands(dst)
    assert str(dst) in str(err.value)


def test_outcar_reported_unconverged(tmp_path):
    src = VASP / "Fe_outcar_magnetization" / "OUTCAR_MAG_SINGLE"
    text = src.read_text()
    i = text.rfind("General timing and accounting")
    bad = tmp_path / "OUTCAR"
    bad.write_text(text[:i] + " EDIFF was not reached (unconverged)\n" + text[i:])
    with pytest.raises(ValueError, match="not converged"):
        read_vasp_bands(bad)


def test_eigenval_alone_needs_outcar(tmp_path):
    shutil.copyfile(VASP / "MoS2_monolayer_hse_bands_spin" / "EIGENVAL", tmp_path / "EIGENVAL")
    with pytest.raises(ValueError, match="Fermi level"):
        read_vasp_bands(tmp_path / "EIGENVAL")


def test_mismatched_runs_are_an_error(tmp_path):
    shutil.copyfile(VASP / "MoS2_monolayer_spin_relax" / "EIGENVAL", tmp_path / "EIGENVAL")
    shutil.copyfile(VASP / "MoS2_monolayer_hse_bands_spin" / "OUTCAR", tmp_path / "OUTCAR")
    with pytest.raises(ValueError, match="different runs"):
        read_vasp_bands(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="no VASP output"):
        read_vasp_bands(tmp_path)


def test_read_bands_guesses_the_code_of_every_fixture_folder():
    """isingflow.dft.read_bands(folder) picks the right reader for every fixture folder."""
    from isingflow.dft import guess_code

    root = FIXTURES
    for code in ("vasp", "qe"):
        for folder in sorted((root / code).iterdir()):
            if folder.is_dir():
                assert guess_code(folder) == code, folder
