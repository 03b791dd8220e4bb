"""Restarts of ensemble SCFs from a converged neighbouring registry: the plan and the real GPAW run."""
import numpy as np
import pytest
import yaml
from ase import Atom
from ase.build import mx2

from isingflow.dft.gpaw import run_ground_state
from isingflow.dft.gpaw.ground_state import gpaw_parameters
from isingflow.dft.gpaw.magnetic import seed_moments
from isingflow.dft.gpaw.restart import restarted_calculator
from isingflow.dft.restart_plan import restart_sources
from tests.conftest import REPO


def member(frac, d, multiplicity=1):
    return {"registry": {"frac": frac, "multiplicity": multiplicity}, "distances_angstrom": [d]}


def test_plan_groups_by_distance_skips_the_origin_and_seeds_from_the_least_symmetric_shift():
    variants = {
        "base": {"distances_angstrom": [6.88]},                      # no registry: not in the plan
        "reg-0.000-0.000_d-6.88": member([0.0, 0.0], 6.88),
        "reg-0.000-0.333_d-6.88": member([0.0, 1 / 3], 6.88, 3),
        "reg-0.000-0.667_d-6.88": member([0.0, 2 / 3], 6.88, 3),
        "reg-0.333-0.667_d-6.88": member([1 / 3, 2 / 3], 6.88),
        "reg-1.000-1.000_d-6.28": member([1.0, 1.0], 6.28),         # the origin again (a full period)
        "reg-0.333-0.667_d-6.28": member([1 / 3, 2 / 3], 6.28),
        "reg-0.000-0.333_d-6.28": member([0.0, 1 / 3], 6.28, 3),
        "reg-0.500-0.500_d-5.00": member([0.5, 0.5], 5.0, 3),       # alone at its distance
    }
    plan = restart_sources(variants)
    assert plan == {"reg-0.000-0.667_d-6.88": "reg-0.000-0.333_d-6.88",
                    "reg-0.333-0.667_d-6.88": "reg-0.000-0.333_d-6.88",
                    "reg-0.333-0.667_d-6.28": "reg-0.000-0.333_d-6.28"}
    assert not set(plan.values()) & set(plan)                       # no chains: one step from a source


# -- real GPAW: a Cr adatom on NbSe2, moved laterally between two low-symmetry sites ---------------------
def adatom(frac_xy, vacuum=4.0):
    atoms = mx2("NbSe2", kind="2H", a=3.44, thickness=3.35, vacuum=vacuum)
    atoms.pbc = [True, True, False]
    top = atoms.positions[:, 2].max()
    xy = np.dot(frac_xy, atoms.cell[:2, :2])
    atoms.append(Atom("Cr", (xy[0], xy[1], top + 2.6), magmom=3.0))
    atoms.cell[2, 2] += 2.6
    return atoms


@pytest.fixture(scope="module")
def smoke():
    with open(REPO / "config" / "config.yaml") as fh:
        dft = yaml.safe_load(fh)["profiles"]["smoke"]["dft"]
    return {**dft, "seed_moments_muB": {"Nb": 0.1}, "seed_both_signs": False, "kpts_in_plane": 2}


@pytest.fixture(scope="module")
def source(tmp_path_factory, smoke):
    d = tmp_path_factory.mktemp("source")
    summary = run_ground_state(adatom([0.13, 0.37]), smoke, d / "gs.gpw", txt=d / "gs.txt")
    return d / "gs.gpw", summary


@pytest.mark.slow
def test_restart_reaches_the_scratch_solution_in_fewer_iterations(source, smoke, tmp_path):
    gpw, src = source
    target = adatom([0.45, 0.3])
    scratch = run_ground_state(target, smoke, tmp_path / "scratch.gpw", txt=tmp_path / "scratch.txt")
    restarted = run_ground_state(target, smoke, tmp_path / "restart.gpw", txt=tmp_path / "restart.txt",
                                 restart_from=(gpw, src["gpaw_parameters"]))
    assert restarted["restart"]["used"] is True and scratch["restart"] is None
    assert restarted["scf_iterations"] < scratch["scf_iterations"]
    assert restarted["energy_eV"] == pytest.approx(scratch["energy_eV"], abs=2e-3)
    assert np.allclose(restarted["magmoms_muB"], scratch["magmoms_muB"], atol=5e-3)
    assert restarted["moment_history"]["final_change_muB"] < smoke["scf_magmom_tol_muB"]   # same gate
    assert restarted["seed_solutions"][0]["restart"]["used"] is True


@pytest.mark.slow
@pytest.mark.parametrize("change, reason", [("cell", "another cell"), ("smearing", "other GPAW parameters"),
                                            ("symmetry", "symmetry operations"), ("pw", "plane-wave")])
def test_restart_is_refused_where_it_would_not_be_the_same_calculation(source, smoke, change, reason):
    """Refused (the caller then converges from scratch) for another cell, other parameters, a
    target of other symmetry (the (0.1, 0.2) site lies on a mirror line) or plane waves."""
    gpw, src = source
    atoms = {"cell": adatom([0.45, 0.3], vacuum=5.0), "symmetry": adatom([0.1, 0.2])}.get(change, adatom([0.45, 0.3]))
    settings = {**smoke, "smearing_eV": 0.2} if change == "smearing" else smoke
    params = gpaw_parameters(seed_moments(atoms, smoke["seed_moments_muB"], +1), settings)
    if change == "pw":
        params = {**params, "mode": "pw"}
    outcome = restarted_calculator(gpw, src["gpaw_parameters"], atoms, params)
    assert outcome.used is False and outcome.calc is None and reason in outcome.reason
