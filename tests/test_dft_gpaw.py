"""Real GPAW runs on the smoke profile: SCF, convergence errors, restart reuse, SOC bands, ΔSOC."""
import time

import numpy as np
import pytest
import yaml
from ase.build import mx2

from isingflow.dft import read_bands, write_bands
from isingflow.dft.gpaw import SCFNotConverged, run_band_structure, run_ground_state
from isingflow.dft.kpoints import kpoint_mesh
from isingflow.extract import fermi_crossing_bands, monolayer_soc_parameters
from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke():
    with open(REPO / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)["profiles"]["smoke"]["dft"]


def nbse2(magmom=0.0):
    atoms = mx2("NbSe2", kind="2H", a=3.44, thickness=3.35, vacuum=4.0)
    atoms.pbc = [True, True, False]
    atoms.set_initial_magnetic_moments([magmom, 0, 0])
    return atoms


@pytest.fixture(scope="module")
def ground_state(tmp_path_factory, smoke):
    d = tmp_path_factory.mktemp("gs")
    summary = run_ground_state(nbse2(), smoke, d / "gs.gpw", txt=d / "gs.txt", cache_dir=d / "cache")
    return d, summary


def test_kmesh_is_2d(smoke):
    size = kpoint_mesh(nbse2(), 4.0)
    assert size[2] == 1 and size[0] == size[1] >= 6


def test_ground_state_converges(ground_state):
    d, summary = ground_state
    assert (d / "gs.gpw").stat().st_size > 1000
    assert summary["scf_iterations"] > 1 and not summary["reused_converged_gpw"]
    assert not summary["spin_polarized"] and summary["magmom_total_muB"] == 0.0
    assert -6.5 < summary["fermi_level_eV"] < -4.5      # NbSe2 work-function scale, vacuum at 0
    assert len(summary["magmoms_muB"]) == 3
    # symmetric slab, no dipole correction: both vacuum levels agree; PBE work function ~5-6 eV
    assert summary["vacuum_level_bottom_eV"] == pytest.approx(summary["vacuum_level_top_eV"], abs=0.02)
    assert 4.5 < summary["work_function_top_eV"] < 6.5


def test_converged_gpw_is_reused_not_recomputed(ground_state, smoke, tmp_path):
    d, first = ground_state
    t0 = time.perf_counter()
    again = run_ground_state(nbse2(), smoke, tmp_path / "gs.gpw", txt=tmp_path / "gs.txt", cache_dir=d / "cache")
    assert again["reused_converged_gpw"] and again["scf_iterations"] == 0
    assert again["energy_eV"] == pytest.approx(first["energy_eV"], abs=1e-8)
    assert again["inputs_hash"] == first["inputs_hash"]
    assert time.perf_counter() - t0 < 60  # generous: a reload, not an SCF


def test_unconverged_scf_is_an_error(smoke, tmp_path):
    bad = dict(smoke, maxiter=2)
    with pytest.raises(SCFNotConverged, match="did not converge"):
        run_ground_state(nbse2(), bad, tmp_path / "gs.gpw", txt=tmp_path / "gs.txt")
    assert not (tmp_path / "gs.gpw").exists()


@pytest.fixture(scope="module")
def bands(ground_state):
    d, _ = ground_state
    soc = run_band_structure(d / "gs.gpw", "GMKG", 30, soc=True, txt=d / "soc.txt")
    nosoc = run_band_structure(d / "gs.gpw", "GMKG", 30, soc=False, txt=d / "nosoc.txt")
    return soc, nosoc


def test_band_structures(bands, tmp_path):
    soc, nosoc = bands
    assert nosoc.eigenvalues.shape[:2] == (1, 30) and not nosoc.soc
    assert soc.eigenvalues.shape == (1, 30, 2 * nosoc.nbands) and soc.soc
    assert [lab for _, lab in soc.path_labels] == ["G", "M", "K", "G"]
    # spinor states are normalised: |<σ>| <= 1, and along Γ–K the Nb band is Sz-polarised
    norm = np.linalg.norm(soc.spin_expectation, axis=-1)
    assert norm.max() <= 1.0 + 1e-6
    # exactly one band (Nb d) crosses E_F in 1H-NbSe2, and it lives mostly on Nb
    crossing = fermi_crossing_bands(nosoc)
    assert len(crossing) == 1
    for b in (soc, nosoc):
        assert b.projections.shape == b.eigenvalues.shape + (3,)
        np.testing.assert_allclose(b.projections.sum(axis=-1), 1.0, atol=1e-9)
    assert nosoc.projections[0, :, crossing[0], 0].mean() > 0.6
    # and the Se-p valence bands below it live mostly on Se
    nb_weight = nosoc.projections[0, :, : crossing[0], 0].mean(axis=0)
    assert nb_weight.min() < 0.3
    write_bands(tmp_path / "b.npz", soc)
    assert np.allclose(read_bands(tmp_path / "b.npz").spin_expectation, soc.spin_expectation)


def test_ising_splitting_at_K_is_nbse2_like(bands):
    soc, nosoc = bands
    params = monolayer_soc_parameters(soc, nosoc)
    # literature (PBE): ≈ 150 meV full splitting of the Nb-d band at K
    assert 110 < params["ising_splitting_full_K_meV"] < 200
    assert params["delta_soc_half_K_meV"] == pytest.approx(params["ising_splitting_full_K_meV"] / 2)
    # Γ-pocket and K-pocket crossings along Γ–K: the splitting grows towards K
    cross = params["fermi_crossings_G_to_K"]
    assert len(cross) == 2
    assert cross[0]["ising_splitting_full_meV"] < cross[1]["ising_splitting_full_meV"]


def test_spin_polarised_run(smoke, tmp_path):
    summary = run_ground_state(nbse2(magmom=1.0), smoke, tmp_path / "gs.gpw", txt=tmp_path / "gs.txt")
    assert summary["spin_polarized"]
    b = run_band_structure(tmp_path / "gs.gpw", "GK", 6, soc=False, txt=tmp_path / "b.txt")
    assert b.nspins == 2


def test_unfolding_2x2_supercell_reproduces_primitive_bands(ground_state, smoke, tmp_path):
    """A 2×2 NbSe2 supercell unfolded onto the primitive path gives the primitive bands."""
    d, _ = ground_state
    prim = run_band_structure(d / "gs.gpw", "GMKG", 10, soc=False, txt=None, projections=False)
    sup_atoms = nbse2().repeat((2, 2, 1))
    run_ground_state(sup_atoms, smoke, tmp_path / "sup.gpw", txt=tmp_path / "sup.txt")
    sup = run_band_structure(tmp_path / "sup.gpw", "GMKG", 10, soc=False, txt=None, projections=False,
                             supercell_matrix=np.diag([2, 2, 1]), unfold_atoms=list(range(len(sup_atoms))))
    W = sup.unfold_weights[0]
    # a perfect supercell: a state belongs to one of the 4 folded primitive k-points (W = 0 or 1);
    # only states degenerate between folded partners (e.g. the three M points at supercell Γ) mix
    assert W.min() > -1e-6 and W.max() < 1 + 1e-6
    assert np.mean((W > 1e-3) & (W < 1 - 1e-3)) < 0.1
    np.testing.assert_allclose(sup.kpoints, 2 * prim.kpoints, atol=1e-12)
    assert sup.path_distance()[-1] == pytest.approx(prim.path_distance()[-1], rel=1e-9)
    for k in range(prim.nkpts):
        ep = np.sort(prim.eigenvalues[0, k] - prim.fermi_level)
        es = np.sort(sup.eigenvalues[0, k][W[k] > 0.5] - sup.fermi_level)
        near = ep[np.abs(ep) < 1.0]
        # each primitive band within 1 eV of E_F appears among the unfolded states (k-mesh of the
        # 2×2 SCF differs slightly from the primitive one: 60 meV tolerance)
        for e in near:
            assert np.min(np.abs(es - e)) < 0.06


def test_total_and_projected_dos_count_the_electrons(ground_state, smoke, tmp_path):
    """DOS of the SCF mesh: ∫ up to E_F gives GPAW's number of valence electrons; the atoms'
    projected DOS add up to the layer's, and the monolayer's layer holds (nearly) every state."""
    from gpaw import GPAW

    d, _ = ground_state
    run_ground_state(nbse2(), smoke, d / "gs.gpw", txt=tmp_path / "again.txt", cache_dir=d / "cache",
                     mesh_bands_path=tmp_path / "mesh.npz", atom_layers=[0, 0, 0])
    mesh = read_bands(tmp_path / "mesh.npz")
    n_electrons = GPAW(str(d / "gs.gpw"), txt=None).get_number_of_electrons()
    e = np.linspace(mesh.eigenvalues.min() - 1.0, mesh.fermi_level, 4000)
    total = mesh.dos(e, width_eV=0.05)
    assert total.shape == (1, e.size)
    assert np.trapezoid(total[0], e) == pytest.approx(n_electrons, abs=0.5)
    per_atom = sum(mesh.dos(e, 0.05, atoms=[i]) for i in range(3))
    assert per_atom == pytest.approx(mesh.dos(e, 0.05, layer=0), rel=1e-9, abs=1e-12)
    assert np.trapezoid(mesh.dos(e, 0.05, layer=0)[0], e) == pytest.approx(n_electrons, rel=0.1)
