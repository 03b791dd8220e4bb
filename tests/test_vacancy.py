"""Vacancy stage: analytic tests of the radial profile / R_d code, and one real smoke run.

The real run builds the 2×2×1 V_Se supercell (11 atoms), runs one GPAW SCF (Γ-point, LCAO dzp;
≈ 30–60 s on 2 cores) and the ``vacancy`` target through Snakemake, then checks the numbers
against GPAW's own total moment.
"""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import yaml

from isingflow.config import section_settings, study_systems, validate_config
from isingflow.extract import PhysicsGateError
from isingflow.extract import radial as R
from isingflow.extract import vacancy as V
from tests.conftest import REPO

R90_EXP_2D = 3.889720169867429   # (1 + x) e^{-x} = 0.1: R_90 / ξ for σ ∝ e^{-r/ξ} in the plane
R50_EXP_2D = 1.678346990016661   # (1 + x) e^{-x} = 0.5


def _hex_cell(L: float, c: float = 10.0) -> np.ndarray:
    return np.array([[L, 0, 0], [-L / 2, L * np.sqrt(3) / 2, 0], [0, 0, c]])


def _synthetic(L=40.0, h=0.25, c=6.0, center_frac=(0.9, 0.95), radial=None, z0=3.0, zw=0.4, images=1):
    """m(x, y, z) = f(ρ) g(z), f summed over periodic images explicitly (independent of minimum_image_xy)."""
    cell = _hex_cell(L, c)
    n = int(round(L / h))
    n3 = int(round(c / 0.2))
    center = np.array(center_frac) @ cell[:2, :2]
    xy = R.column_xy(cell, (n, n))
    f = np.zeros((n, n))
    for i in range(-images, images + 1):
        for j in range(-images, images + 1):
            shift = i * cell[0, :2] + j * cell[1, :2]
            f += radial(np.linalg.norm(xy - center - shift, axis=-1))
    z = np.arange(n3) * c / n3
    g = np.exp(-0.5 * ((z - z0) / zw) ** 2)
    g /= g.sum() * (c / n3)                     # ∫ g dz = 1 on the grid
    m = f[:, :, None] * g[None, None, :]
    return V.SpinDensity(m=m, cell=cell, kind="synthetic"), np.r_[center, z0]


def _analyse(sd, vac, settings):
    """The vacancy record of ``sd`` with ``settings`` over the schema's defaults."""
    return V.analyse_spin_density(sd, vac, plane_z=3.0, settings=section_settings("vacancy", settings)).parameters


# --- geometry ------------------------------------------------------------------------------------
def test_inradius_and_minimum_image_match_brute_force():
    cell = _hex_cell(10.0)
    assert R.inradius_2d(cell) == pytest.approx(5.0)
    rng = np.random.default_rng(1)
    d = rng.uniform(-25, 25, size=(500, 2))
    red = R.minimum_image_xy(d, cell)
    a = cell[:2, :2]
    brute = np.min([np.linalg.norm(d + i * a[0] + j * a[1], axis=1)
                    for i in range(-6, 7) for j in range(-6, 7)], axis=0)
    assert np.allclose(np.linalg.norm(red, axis=1), brute)
    # every reduced vector is a lattice translate of the original
    frac = np.linalg.solve(a.T, (red - d).T).T
    assert np.allclose(frac, np.round(frac), atol=1e-9)


def test_enclosing_radius_of_uniform_disc():
    cell = _hex_cell(30.0)
    r = R.column_distances(cell, (240, 240), [3.0, 4.0])
    disc = (r < 8.0).astype(float)
    assert R.enclosing_radius(disc, r, 0.9) == pytest.approx(8.0 * np.sqrt(0.9), abs=0.1)
    assert R.enclosing_radius(disc, r, 1.0) == pytest.approx(8.0, abs=0.13)


# --- exponential spin density: R_d known exactly ----------------------------------------------------
@pytest.mark.parametrize("xi", [1.5, 2.5])
def test_exponential_density_R90_decay_length_and_moment(xi):
    m0 = 0.02
    sd, vac = _synthetic(radial=lambda rho: m0 * np.exp(-rho / xi))
    res = _analyse(sd, vac, settings={"bin_width_angstrom": 0.25,
                                                                 "fit_bin_width_angstrom": 0.5,
                                                                 "fit_r_min_angstrom": 1.0})
    exact_M = 2 * np.pi * xi ** 2 * m0                      # ∫ m0 e^{-r/ξ} d²r, infinite plane
    assert res["vacancy_moment_muB"] == pytest.approx(exact_M, rel=0.01)
    assert res["vacancy_abs_moment_muB"] == pytest.approx(exact_M, rel=0.01)
    assert res["R_d_angstrom"] == pytest.approx(R90_EXP_2D * xi, rel=0.02)
    assert res["R_d_exp_angstrom"] == pytest.approx(xi, rel=0.03)
    assert res["R_d_nb_slab_angstrom"] == pytest.approx(res["R_d_angstrom"], rel=1e-3)   # all of m in the slab
    assert not res["R_d_limited_by_supercell"]
    assert res["R_d_status"] == "resolved" and res["R_d_resolved_angstrom"] == res["R_d_angstrom"]
    assert res["n_sign_changes"] == 0
    prof = res["radial_profile"]
    assert np.asarray(prof["cumulative_moment_muB"])[-1] == pytest.approx(res["vacancy_moment_muB"], rel=1e-10)
    # annular mean at r follows m0 e^{-r/ξ} (the areal density, ∫ g dz = 1)
    r = np.asarray(prof["r_center_angstrom"])
    mean = np.asarray(prof["mean_areal_density_muB_per_angstrom2"])
    sel = (r > 2) & (r < 4 * xi)
    assert np.allclose(mean[sel], m0 * np.exp(-r[sel] / xi), rtol=0.03)
    # R_d encloses the configured fraction of ∫|m|: 50 % at (1 + x) e^{-x} = 0.5, x = 1.678
    half = _analyse(sd, vac, settings={"bin_width_angstrom": 0.25, "abs_fraction": 0.5})
    assert half["R_d_angstrom"] == pytest.approx(R50_EXP_2D * xi, rel=0.02)


def test_decay_length_too_close_to_the_cell_edge_is_not_resolved():
    """ξ = 4.3 Å in a 40 Å cell: R_d (16.7 Å) is inside the cell, but the envelope has not decayed by
    e⁵ at r_in = 20 Å, so one cell does not resolve it."""
    sd, vac = _synthetic(radial=lambda rho: 0.02 * np.exp(-rho / 4.3))
    res = _analyse(sd, vac, settings={"fit_bin_width_angstrom": 0.5})
    assert not res["R_d_limited_by_supercell"] and res["R_d_angstrom"] < res["r_inscribed_angstrom"]
    assert res["R_d_status"].startswith("limited by the cell: ξ =") and res["R_d_resolved_angstrom"] is None
    loose = _analyse(sd, vac, settings={"fit_bin_width_angstrom": 0.5, "decay_length_max_fraction_of_r_in": 0.3})
    assert loose["R_d_status"] == "resolved"


def test_delocalised_density_is_flagged_as_supercell_limited():
    sd, vac = _synthetic(L=12.0, radial=lambda rho: 0.01 * np.exp(-rho / 20.0), images=3)
    res = _analyse(sd, vac, settings={})
    assert res["R_d_limited_by_supercell"]
    assert res["R_d_angstrom"] >= 0.9 * res["R_d_uniform_reference_angstrom"]
    assert any("limited by the supercell" in n for n in res["notes"])
    assert res["R_d_status"].startswith("limited by the cell: R_d") and res["R_d_resolved_angstrom"] is None


def test_friedel_like_sign_changes_at_the_analytic_zeros():
    k, xi = 2 * np.pi / 6.0, 6.0
    sd, vac = _synthetic(L=50.0, radial=lambda rho: 0.02 * np.cos(k * rho) * np.exp(-rho / xi))
    res = _analyse(sd, vac, settings={"bin_width_angstrom": 0.25,
                                                                 "sign_threshold": 0.01})
    zeros = [(n + 0.5) * np.pi / k for n in range(6)]
    found = res["sign_changes_radii_angstrom"]
    assert len(found) >= 4
    for z_found, z_exact in zip(found, zeros):
        assert z_found == pytest.approx(z_exact, abs=0.15)
    assert res["vacancy_abs_moment_muB"] > abs(res["vacancy_moment_muB"])


def test_atomic_shells_and_their_sign_changes():
    d = np.array([2.0, 2.01, 1.99, 4.0, 4.0, 5.3, 7.2, 7.2])
    m = np.array([0.03, 0.03, 0.03, 0.005, 0.005, 1e-5, -0.004, -0.004])
    sd, sm, sn = R.atomic_shells(d, m)
    assert sn == [3, 2, 1, 2] and sd[0] == pytest.approx(2.0)
    assert sm[3] == pytest.approx(-0.004)
    # the 1e-5 shell is below 2 % of the largest: the sign change is placed between 4.0 and 7.2
    assert R.shell_sign_changes(sd, sm, 0.02) == [pytest.approx(5.6)]
    assert R.shell_sign_changes(sd, np.abs(sm).tolist(), 0.02) == []


def test_exponential_fit_exact_and_non_decaying():
    r = np.linspace(0.5, 10, 20)
    fit = R.exponential_decay_length(r, 3.0 * np.exp(-r / 2.2), 1.0, 9.0)
    assert fit["decays"] and fit["xi_angstrom"] == pytest.approx(2.2, rel=1e-10)
    assert fit["amplitude"] == pytest.approx(3.0, rel=1e-10)
    grow = R.exponential_decay_length(r, np.exp(r / 3.0), 1.0, 9.0)
    assert not grow["decays"] and grow["xi_angstrom"] is None


def test_negative_total_moment_is_reported_positive():
    sd, vac = _synthetic(radial=lambda rho: -0.02 * np.exp(-rho / 2.0))
    res = _analyse(sd, vac, settings={})
    assert res["spin_orientation_flipped"] and res["vacancy_moment_muB"] > 0
    assert np.all(np.asarray(res["radial_profile"]["cumulative_moment_muB"]) >= 0)
    keep = _analyse(sd, vac, settings={"orient_positive": False})
    assert not keep["spin_orientation_flipped"]
    assert keep["vacancy_moment_muB"] == pytest.approx(-res["vacancy_moment_muB"])
    assert keep["R_d_angstrom"] == pytest.approx(res["R_d_angstrom"])


def test_gate_when_grid_density_disagrees_with_gpaw_moment():
    sd, vac = _synthetic(radial=lambda rho: 0.02 * np.exp(-rho / 2.0))
    sd.gpaw_moment_muB = 1.0
    with pytest.raises(PhysicsGateError, match="GPAW's total moment"):
        _analyse(sd, vac, settings={})


def test_schema_defaults_fill_the_config_and_drive_the_analysis():
    """Without a vacancy section the validated config holds every default of the schema, and the
    analysis uses them (annulus width, enclosed fraction)."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "vacancy.schema.yaml").read_text())["properties"]
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    del cfg["vacancy"]
    section = validate_config(cfg)["vacancy"]
    for key, spec in schema.items():
        if key in ("figure", "cell_series"):
            for fk, fspec in spec["properties"].items():
                assert section[key][fk] == fspec["default"], fk
        else:
            assert section[key] == spec["default"], key
    assert study_systems(cfg).vacancy == schema["system"]["default"] == "NbSe2-VSe"
    partial = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    partial["vacancy"] = {"bin_width_angstrom": 0.3, "figure": {"tiles": 1}}
    s = validate_config(partial)["vacancy"]
    assert s["bin_width_angstrom"] == 0.3 and s["figure"]["tiles"] == 1
    assert s["figure"]["color_scale"] == schema["figure"]["properties"]["color_scale"]["default"]
    sd, vac = _synthetic(radial=lambda rho: 0.02 * np.exp(-rho / 2.0))
    res = V.analyse_spin_density(sd, vac, plane_z=3.0, settings=section).parameters
    assert res["radial_profile"]["r_outer_angstrom"][0] == pytest.approx(schema["bin_width_angstrom"]["default"])
    r = R.column_distances(sd.cell, sd.shape[:2], vac)
    expected = R.enclosing_radius(V.column_density(sd, absolute=True), r, schema["abs_fraction"]["default"])
    assert res["R_d_angstrom"] == pytest.approx(expected, rel=1e-12)


# --- real GPAW ----------------------------------------------------------------------------------
def test_not_spin_polarised_is_a_physics_gate(tmp_path):
    from ase.build import molecule
    from gpaw import GPAW

    atoms = molecule("H2")
    atoms.center(vacuum=2.0)
    atoms.calc = GPAW(mode="lcao", basis="dzp", h=0.3, txt=None)
    atoms.get_potential_energy()
    atoms.calc.write(str(tmp_path / "h2.gpw"))
    with pytest.raises(PhysicsGateError, match="not spin-polarised"):
        V.load_spin_density(tmp_path / "h2.gpw")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One real `snakemake vacancy` on a 2×2×1 supercell: the smoke profile with a Γ-only mesh."""
    from tests.conftest import run_snakemake

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    prof = copy.deepcopy(cfg["profiles"]["smoke"])
    prof["structures"]["vacancy_supercell"] = 2
    prof["dft"]["kpt_density_per_inv_angstrom"] = 0.5     # Γ only: ~15 SCF iterations
    prof["dft"].pop("mixer_beta", None)                     # GPAW's default mixer: fastest here
    work = tmp_path_factory.mktemp("vacancy_smoke")
    override = work / "override.yaml"
    override.write_text(yaml.safe_dump({"profile": "vactest", "profiles": {"vactest": prof}}))
    proc = run_snakemake(work, targets=["vacancy"], configfile=override, cores=1, timeout=900)
    return work, proc


def test_smoke_vacancy_pipeline(smoke_run):
    work, _ = smoke_run
    res = json.loads((work / "results" / "parameters" / "NbSe2-VSe.json").read_text())
    gs = json.loads((work / "results" / "dft" / "NbSe2-VSe" / "base" / "gs.json").read_text())
    assert gs["spin_polarized"]
    for key in ("vacancy_moment_muB", "vacancy_abs_moment_muB", "R_d_angstrom", "supercell_N",
                "radial_profile", "provenance", "R_d_limited_by_supercell", "sign_changes_radii_angstrom"):
        assert key in res, key
    # the definitions are documented, not stored in the data
    assert not [k for k in res if k.endswith("_definition")]
    assert "R_d" in (REPO / "docs" / "extraction.md").read_text()
    assert res["supercell_N"] == 2
    # the grid spin density integrates to GPAW's total moment
    assert res["vacancy_moment_muB"] == pytest.approx(abs(gs["magmom_total_muB"]), abs=1e-3)
    assert res["spin_orientation_flipped"] == (gs["magmom_total_muB"] < 0)
    assert res["vacancy_abs_moment_muB"] >= abs(res["vacancy_moment_muB"]) - 1e-9
    prof = res["radial_profile"]
    assert prof["cumulative_moment_muB"][-1] == pytest.approx(res["vacancy_moment_muB"], abs=1e-6)
    assert prof["cumulative_abs_moment_muB"][-1] == pytest.approx(res["vacancy_abs_moment_muB"], abs=1e-6)
    L = res["supercell_length_angstrom"]
    assert L == pytest.approx(2 * 3.44)
    assert 0 < res["R_d_angstrom"] <= L / np.sqrt(3) + 1e-6      # ≤ the farthest point of the cell
    assert res["R_d_limited_by_supercell"] == (res["R_d_angstrom"] >= L / 2 or
                                               res["R_d_angstrom"] >= 0.9 * res["R_d_uniform_reference_angstrom"])
    for fig in ("fig3a.png", "vacancy_radial.png"):
        path = work / "results" / "figures" / fig
        assert path.is_file() and path.stat().st_size > 10_000
    assert (work / "results" / "logs" / "vacancy" / "NbSe2-VSe.log").is_file()


def test_smoke_functions_on_the_gpw(smoke_run):
    """The library functions directly on the .gpw: all-electron vs pseudo density, moments vs GPAW."""
    work, _ = smoke_run
    gpw = work / "results" / "dft" / "NbSe2-VSe" / "base" / "gs.gpw"
    manifest = V.load_manifest(work / "results" / "structures" / "NbSe2-VSe" / "manifest.json")
    geo = V.vacancy_geometry(manifest)
    assert geo["supercell_N"] == 2 and geo["plane_element"] == "Nb"
    for kind in ("all-electron", "pseudo"):
        sd = V.load_spin_density(gpw, density=kind)
        mom = V.integrated_moments(sd)
        assert mom["total_muB"] == pytest.approx(sd.gpaw_moment_muB, abs=0.02)
        assert mom["positive_muB"] + mom["negative_muB"] == pytest.approx(mom["total_muB"])
    analysis = V.analyse_gpw(gpw, manifest, section_settings("vacancy", {"density": "all-electron"}))
    res, maps = analysis.parameters, analysis.maps
    nb = res["plane_atoms"]
    assert nb["element"] == "Nb" and len(nb["moment_muB"]) == 4
    # the three Nb neighbours of the vacancy are the closest Nb, all at the same distance
    assert np.allclose(nb["distance_angstrom"][:3], nb["distance_angstrom"][0], atol=1e-4)
    sigma_nb = maps.sigma_nb
    assert sigma_nb.shape == tuple(res["grid_shape"][:2])
    assert sigma_nb.sum() * V.SpinDensity(np.zeros(res["grid_shape"]), maps.cell).column_area == \
        pytest.approx(res["nb_slab_moment_muB"])


def _cell(n, R_d, status="resolved"):
    return {"system": f"V{n}", "supercell_N": n, "supercell_length_angstrom": 3.44 * n,
            "r_inscribed_angstrom": 1.72 * n, "vacancy_moment_muB": 0.6, "vacancy_abs_moment_muB": 0.9,
            "R_d_angstrom": R_d, "R_d_exp_angstrom": R_d / 3.89, "R_d_status": status}


def test_cell_series_reports_R_d_only_when_stable_in_the_two_largest_cells():
    from isingflow.extract.vacancy_cells import cell_series, cell_series_markdown

    ok = cell_series([_cell(9, 10.3), _cell(6, 10.0)], rel_tol=0.1)
    assert ok["status"] == "resolved" and ok["R_d_angstrom"] == 10.3
    assert [r["supercell_N"] for r in ok["rows"]] == [6, 9]
    assert "R_d = 10.30 Å (resolved" in cell_series_markdown(ok)
    growing = cell_series([_cell(6, 8.0), _cell(9, 12.0)], rel_tol=0.1)
    assert growing["R_d_angstrom"] is None and "moves from 8.00 Å" in growing["status"]
    limited = cell_series([_cell(6, 8.0, "limited by the cell: ξ = 3 Å"), _cell(9, 8.2)], rel_tol=0.1)
    assert limited["R_d_angstrom"] is None and "N = 6: limited" in limited["status"]
    assert cell_series([_cell(9, 10.0)], 0.1)["status"].startswith("limited by the cell: one cell")
    assert "R_d not reported" in cell_series_markdown(growing)


def test_vacancy_cell_series_study_plans_one_ground_state_per_cell(tmp_path):
    """config/studies/vacancy_cells.yaml: a 6×6 and a 9×9 cell, each its own structure, SCF and
    analysis, then the table (dry run; the 9×9 SCF is an HPC job)."""
    from tests.conftest import run_snakemake

    out = run_snakemake(tmp_path, targets=["vacancy_cells"], extra=["-n"],
                        configfile=REPO / "config" / "studies" / "vacancy_cells.yaml",
                        config={"profile": "quick"}, timeout=300).stdout
    for name in ("structures_NbSe2_VSe_6x6", "structures_NbSe2_VSe_9x9"):
        assert name in out
    assert "results/vacancy/cells/NbSe2-VSe-9x9.json" in out and "results/studies/vacancy_cells.md" in out
    # the smoke profile's 40-atom limit refuses the 6×6 cell before any job, naming the key
    bad = run_snakemake(tmp_path, targets=["vacancy_cells"], extra=["-n"], check=False,
                        configfile=REPO / "config" / "studies" / "vacancy_cells.yaml",
                        config={"profile": "smoke"}, timeout=300)
    assert bad.returncode != 0 and "max_atoms" in bad.stdout
