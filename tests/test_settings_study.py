"""The settings study: λex against k-mesh, smearing and U; the Stoner enhancement from E(M)."""
import numpy as np
import pytest

from isingflow.extract.settings_series import settings_series, settings_series_markdown
from isingflow.extract.stoner import stoner_enhancement
from tests.conftest import REPO, run_snakemake


def _pt(k, s, u, lam):
    return {"kpts_in_plane": k, "smearing_eV": s, "hubbard_U_eV": u, "lambda_ex_meV": lam,
            "m_Nb_mean_abs_muB": lam / 1000, "scf_iterations": 20}


def test_smearing_extrapolation_spread_and_the_U_bracket():
    # λ(k, σ) = 10 + 100 σ + 8/k: linear in σ, so σ → 0 is exact per mesh
    pts = [_pt(k, s, 0.0, 10 + 100 * s + 8 / k) for k in (4, 6, 8) for s in (0.05, 0.02, 0.01)]
    pts.append(_pt(8, 0.01, 3.0, 5.0))
    series = settings_series(pts, 0.0, {0.0: {"barrier_up_eV": 0.3, "barrier_down_eV": 0.9},
                                        3.0: {"barrier_up_eV": 0.5, "barrier_down_eV": 1.2}})
    assert series["extrapolated_by_kpts_meV"]["4"] == pytest.approx(12.0)
    assert series["lambda_ex_extrapolated_meV"] == pytest.approx(11.0)
    # range over the densest mesh (σ = 0.05 … 0.01) and the smallest σ over the meshes
    values = [10 + 100 * s + 1 for s in (0.05, 0.02, 0.01)] + [10 + 1 + 8 / k for k in (4, 6, 8)]
    assert series["lambda_ex_spread_meV"] == pytest.approx(max(values) - min(values))
    assert [b["hubbard_U_eV"] for b in series["hubbard_bracket"]] == [0.0, 3.0]
    assert series["hubbard_bracket"][1]["lambda_ex_meV"] == 5.0 and series["hubbard_bracket"][1]["barrier_up_eV"] == 0.5
    text = settings_series_markdown(series, "NbSe2-CrBr3")
    assert "| 8×8 | 16.00 | 13.00 | 12.00 | 11.00 |" in text and "| 3 | 5.00 |" in text


def test_stoner_enhancement_of_a_known_curve():
    M = np.array([0.0, 0.05, 0.1, 0.15])
    N = 2.0                                       # states/eV/cell
    S = 4.0                                       # E = M²/(2χ), χ = S·N
    fit = stoner_enhancement(M, -10 + M ** 2 / (2 * S * N), N)
    assert fit["stoner_enhancement"] == pytest.approx(S) and fit["stoner_product"] == pytest.approx(0.75)
    unstable = stoner_enhancement(M, -10 - 0.1 * M ** 2 + M ** 4, N)
    assert unstable["ferromagnetic_instability"] and unstable["stoner_enhancement"] == np.inf
    with pytest.raises(ValueError, match="three distinct"):
        stoner_enhancement([0, 0.1], [0, 1], N)


@pytest.mark.slow
def test_fixed_spin_moment_curve_of_monolayer_nbse2():
    """Real GPAW on 1H-NbSe2 (3 atoms, 6×6 k): the moment stays where it was fixed, E(M) rises,
    N(E_F) is that of a metal, and S is finite and enhanced (> 1)."""
    import yaml
    from ase.build import mx2

    from isingflow.dft.gpaw.fixed_moment import fixed_moment_energy

    smoke = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["profiles"]["smoke"]["dft"]
    settings = {**smoke, "kpts_in_plane": 6, "smearing_eV": 0.05}
    atoms = mx2("NbSe2", kind="2H", a=3.44, thickness=3.35, vacuum=4.0)
    atoms.pbc = [True, True, False]
    rows = [fixed_moment_energy(atoms, settings, m, "Nb") for m in (0.0, 0.1, 0.2)]
    assert rows[1]["magmom_total_muB"] == pytest.approx(0.1, abs=1e-3)
    assert rows[2]["magmom_total_muB"] == pytest.approx(0.2, abs=1e-3)
    assert rows[0]["dos_at_fermi_per_eV"] > 0.5
    fit = stoner_enhancement([r["moment_muB"] for r in rows], [r["energy_eV"] for r in rows],
                             rows[0]["dos_at_fermi_per_eV"])
    assert fit["ferromagnetic_instability"] or fit["stoner_enhancement"] > 1.0


def test_settings_study_plans_its_points(tmp_path):
    """`snakemake settings_study` (dry run): the k × σ grid, the U bracket, the monolayers, E(M)."""
    out = run_snakemake(tmp_path, targets=["settings_study"], extra=["-n"], config={"profile": "smoke"},
                        timeout=300).stdout
    for path in ("studies/settings/NbSe2-CrBr3/k8_s0.01_U0/gs.json", "studies/settings/NbSe2-CrBr3/k8_s0.01_U3/gs.json",
                 "studies/settings/CrBr3-1L/kauto_sauto_U3/gs.json", "studies/stoner/NbSe2-1L/M0.2.json",
                 "studies/settings_study.md"):
        assert path in out, path
    assert "studies/settings/NbSe2-CrBr3/k4_s0.01_U3" not in out   # U bracket only at the reference settings
