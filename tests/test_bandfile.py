"""The normalised band file: round trip, validation, and clear errors for bad files."""
import numpy as np
import pytest

from isingflow.dft import BandStructure, read_bands, write_bands


def _example(soc=False):
    rng = np.random.default_rng(0)
    nk, nb = 7, 5
    kw = dict(
        eigenvalues=np.sort(rng.normal(size=(1 if soc else 2, nk, nb)), axis=-1),
        kpoints=np.c_[np.linspace(0, 1 / 3, nk), np.linspace(0, 1 / 3, nk), np.zeros(nk)],
        fermi_level=-0.25, code="gpaw", code_version="26.7.0",
        cell=np.array([[3.44, 0, 0], [-1.72, 2.979, 0], [0, 0, 20.0]]), symbols=["Nb", "Se", "Se"],
        positions=rng.normal(size=(3, 3)), path_labels=[(0, "G"), (6, "K")], soc=soc,
        magmoms=np.array([0.1, -0.01, -0.01]), inputs_hash="abc", provenance={"x": 1},
    )
    if soc:
        kw["spin_expectation"] = rng.uniform(-1, 1, size=(nk, nb, 3))
    return BandStructure(**kw)


@pytest.mark.parametrize("soc", [False, True])
def test_round_trip(tmp_path, soc):
    bands = _example(soc)
    path = tmp_path / "bands.npz"
    write_bands(path, bands)
    back = read_bands(path)
    assert back.code == "gpaw" and back.soc == soc
    np.testing.assert_array_equal(back.eigenvalues, bands.eigenvalues)
    np.testing.assert_array_equal(back.kpoints, bands.kpoints)
    np.testing.assert_array_equal(back.magmoms, bands.magmoms)
    assert back.fermi_level == bands.fermi_level
    assert back.path_labels == [(0, "G"), (6, "K")]
    assert back.provenance == {"x": 1}
    if soc:
        np.testing.assert_array_equal(back.spin_expectation, bands.spin_expectation)
    else:
        assert back.spin_expectation is None and back.spin_polarized
    # Cartesian k: K of the hexagonal cell is 4π/3a from Γ
    assert back.path_distance()[-1] == pytest.approx(4 * np.pi / (3 * 3.44), rel=1e-3)


def test_no_leftover_temporary_files(tmp_path):
    write_bands(tmp_path / "b.npz", _example())
    assert [p.name for p in tmp_path.iterdir()] == ["b.npz"]


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\[spin, k, band\]"):
        BandStructure(eigenvalues=np.zeros((3, 4)), kpoints=np.zeros((3, 3)), fermi_level=0.0, code="x")
    with pytest.raises(ValueError, match="kpoints"):
        BandStructure(eigenvalues=np.zeros((1, 4, 2)), kpoints=np.zeros((3, 3)), fermi_level=0.0, code="x")


def test_truncated_and_foreign_files_name_the_file(tmp_path):
    good = tmp_path / "good.npz"
    write_bands(good, _example())
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="cut.npz"):
        read_bands(cut)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, eigenvalues=np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="foreign.npz.*meta"):
        read_bands(foreign)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz"):
        read_bands(empty)
