"""The stacking average: uniform grids of lateral shifts, their symmetry weights, and ⟨λex⟩ over them."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from isingflow import structures as S
from isingflow.config import validate_config
from isingflow.extract.ensemble import ensemble_average, grid_averages
from isingflow.structures.stacking import interface_lateral_distances
from tests.conftest import REPO

D_CR_NB = 6.88
NBSE2_2X2 = {"material": "NbSe2", "supercell": [[2, 0], [0, 2]]}
CRBR3_1X1 = {"material": "CrBr3", "supercell": [[1, 0], [0, 1]]}


@pytest.fixture(scope="module")
def bilayer():
    return S.build_stack([NBSE2_2X2, CRBR3_1X1], [D_CR_NB], vacuum_angstrom=5.0, max_strain_percent=10.5)


@pytest.fixture(scope="module")
def trilayer():
    return S.build_stack([NBSE2_2X2, CRBR3_1X1, NBSE2_2X2], [D_CR_NB, D_CR_NB], vacuum_angstrom=5.0,
                         max_strain_percent=10.5)


def _lateral(atoms, shift):
    return interface_lateral_distances(S.apply_shift(atoms, [1], shift.shift_angstrom), [1])


def test_grid3_samples_br_atop_se_and_t0(bilayer):
    rs = S.stacking_shifts(bilayer, [1], grid=3, high_symmetry=True)
    assert rs.n_sampled == 9                      # the three-fold shifts are grid points: no duplicate
    assert rs.shifts[0].frac == (0.0, 0.0)
    lateral = {r.frac: _lateral(bilayer, r)["0-1"] for r in rs.shifts}
    # the three-fold shifts keep every interfacial Br 1.15 Å (a/3) from the nearest Se ...
    assert all(lateral[r.frac] == pytest.approx(3.44 / 3, abs=0.01) for r in rs.shifts if r.high_symmetry)
    # ... the 3×3 grid also holds a Br atop an Se
    assert min(lateral.values()) < 0.3
    # equivalent shifts are the same interface: the same distance over the whole orbit
    for r in rs.shifts:
        for member in r.orbit:
            d = interface_lateral_distances(S.apply_shift(bilayer, [1], np.array(member) @ rs.shift_cell_angstrom),
                                            [1])["0-1"]
            assert d == pytest.approx(lateral[r.frac], abs=1e-6)


def test_trilayer_reports_both_interfaces(trilayer):
    rs = S.stacking_shifts(trilayer, [1], grid=3)
    lat = [_lateral(trilayer, r) for r in rs.shifts]
    assert all(set(x) == {"0-1", "1-2"} for x in lat)
    assert min(min(x.values()) for x in lat) < 0.3


@pytest.mark.parametrize("n", [3, 6])
@pytest.mark.parametrize("system", ["bilayer", "trilayer"])
def test_grid_weights_sum_to_one(request, system, n):
    atoms = request.getfixturevalue(system)
    rs = S.stacking_shifts(atoms, [1], grid=n, high_symmetry=True)
    assert rs.n_sampled == n * n
    assert sum(r.weight for r in rs.shifts) == pytest.approx(1.0)
    for m in (k for k in range(1, n + 1) if n % k == 0):
        w = [r.grid_weights[m] for r in rs.shifts]
        assert sum(w) == pytest.approx(1.0)
        assert all(abs(x * m * m - round(x * m * m)) < 1e-9 for x in w)   # integer counts / m²


def test_grid3_is_a_subset_of_grid6(bilayer):
    g3 = S.stacking_shifts(bilayer, [1], grid=3, high_symmetry=False)
    g6 = S.stacking_shifts(bilayer, [1], grid=6, high_symmetry=False)
    sampled6 = {tuple(np.round(o, 9)) for r in g6.shifts for o in r.orbit}
    assert {(round(i / 3, 9), round(j / 3, 9)) for i in range(3) for j in range(3)} <= sampled6
    # the 3×3 weights read from the 6×6 set are those of the 3×3 set itself, class by class
    for r3 in g3.shifts:
        owner = [r6 for r6 in g6.shifts if S.stacking.same_shift(r6.orbit, r3.frac)]
        assert len(owner) == 1
        assert owner[0].grid_weights[3] == pytest.approx(r3.weight)
    assert sum(1 for r in g6.shifts if r.grid_weights[3] > 0) == len(g3.shifts)


def _star(cell2, k0):
    """Integer reciprocal-lattice indices of the shift cell with the length of ``k0`` (the star of k0)."""
    recip = 2 * np.pi * np.linalg.inv(cell2).T
    target = np.linalg.norm(np.asarray(k0) @ recip)
    ks = [(a, b) for a in range(-4, 5) for b in range(-4, 5)
          if abs(np.linalg.norm(np.array([a, b]) @ recip) - target) < 1e-9]
    return np.array(ks), recip


def _test_function(atoms, shift_cell, frac):
    """c + Σ_{Br, Se} Σ_{G ∈ star(1,0) ∪ star(3,0)} cos G·(x_Br + t − x_Se): symmetric, band-limited."""
    sym = np.array(atoms.get_chemical_symbols())
    br, se = atoms.positions[sym == "Br", :2], atoms.positions[sym == "Se", :2]
    t = np.asarray(frac) @ shift_cell
    d = (br[:, None, :] + t - se[None, :, :]).reshape(-1, 2)
    terms = []
    for k0 in ((1, 0), (3, 0)):
        ks, recip = _star(shift_cell, k0)
        assert len(ks) == 6
        terms.append(np.cos(d @ (ks @ recip).T).sum())
    return 2.5 + sum(terms), terms[1]


def test_weighted_average_is_exact_for_resolved_components(bilayer):
    g6 = S.stacking_shifts(bilayer, [1], grid=6)
    cell = g6.shift_cell_angstrom
    rep = {r.frac: _test_function(bilayer, cell, r.frac)[0] for r in g6.shifts}
    for r in g6.shifts:            # the function is invariant under the merging: equal on every orbit
        assert all(_test_function(bilayer, cell, m)[0] == pytest.approx(rep[r.frac], abs=1e-9) for m in r.orbit)
    avg = {n: sum(r.grid_weights[n] * rep[r.frac] for r in g6.shifts) for n in (1, 2, 3, 6)}
    # 6×6 resolves both stars: the G = 0 component, the constant, exactly
    assert avg[6] == pytest.approx(2.5, abs=1e-9)
    # 3×3 resolves star(1,0) but aliases star(3,0) onto G = 0: the constant plus that star at t = 0
    assert avg[3] == pytest.approx(2.5 + _test_function(bilayer, cell, (0, 0))[1], abs=1e-9)
    assert abs(avg[3] - 2.5) > 0.1
    # a constant is exact on every grid
    for n in (1, 2, 3, 6):
        assert sum(r.grid_weights[n] for r in g6.shifts) * 7.0 == pytest.approx(7.0)


def _rows(g6, values, d):
    return [{"d_angstrom": d, "weight": r.weight, "grid_weights": {str(n): w for n, w in r.grid_weights.items()},
             "lambda_ex_meV": values[r.frac]} for r in g6.shifts]


def test_ensemble_average_per_grid_and_grid_change(bilayer):
    g6 = S.stacking_shifts(bilayer, [1], grid=6)
    cell = g6.shift_cell_angstrom

    def f(frac):  # a function of the interface that the symmetry leaves invariant
        return 10.0 + _test_function(bilayer, cell, frac)[0]

    lam = {r.frac: f(r.frac) for r in g6.shifts}
    rows = _rows(g6, lam, 6.88) + _rows(g6, {k: 4 * v for k, v in lam.items()}, 6.28)
    ens = ensemble_average(rows, 6.88, stacking_grids=[3, 6])
    direct = {n: np.mean([f((i / n, j / n)) for i in range(n) for j in range(n)]) for n in (3, 6)}
    assert ens["lambda_ex_avg_meV"] == pytest.approx(direct[6])
    assert ens["lambda_ex_avg_by_grid_meV"]["3"] == pytest.approx(direct[3])
    assert ens["lambda_ex_grid_change_meV"] == pytest.approx(direct[6] - direct[3])
    assert ens["stacking_average_by_grid_meV"]["6"]["6.28"] == pytest.approx(4 * direct[6])
    assert ens["stacking_grid"] == 6 and "6×6" in ens["method"] and "3×3" in ens["method"]
    # a grid whose shifts were not all computed is not reported (t = 0 belongs to every grid)
    assert grid_averages(rows[1:], [3, 6]) == {}
    assert set(grid_averages([r for r in rows if r["grid_weights"]["3"] > 0], [3, 6])) == {3}
    one = ensemble_average(rows, 6.88, stacking_grids=[3])
    assert one["lambda_ex_grid_change_meV"] is None and one["lambda_ex_avg_meV"] == pytest.approx(direct[3])


def test_quick_profile_plans_the_3x3_grid():
    with open(REPO / "config" / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["profile"] = "quick"
    built = S.build_system(validate_config(cfg), "NbSe2-CrBr3")
    ens = {v: p["registry"] for v, (_a, p) in built.items() if v != "base"}
    at_688 = {v: r for v, r in ens.items() if v.endswith("_d-6.88")}
    assert len(at_688) == 5 and len(ens) == 10          # 5 symmetry-distinct shifts × 2 distances
    assert sum(r["grid_weights"]["3"] for r in at_688.values()) == pytest.approx(1.0)
    assert min(r["min_lateral_distance_angstrom"] for r in at_688.values()) < 0.3
    assert "reg-0.000-0.000_d-6.88" in at_688 and "reg-0.333-0.667_d-6.88" in at_688


def test_translation_group_of_thirds_closes():
    """√3×√3 R30° cells have pure translations by thirds; rounding noise (1/3 + 1/3 + 1/3 = 0.999999)
    must not make the group grow (it did: the CrCl3 example took 10 min to plan)."""
    from isingflow.structures.stacking import _translation_group

    group = _translation_group([np.array([1 / 3, 2 / 3]), np.array([2 / 3 + 1e-7, 1 / 3])])
    assert len(group) == 3
    assert len(_translation_group([np.array([0.5, 0.0]), np.array([0.0, 0.5])])) == 4
