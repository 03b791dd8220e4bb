"""⟨λex⟩ with each lateral shift at its own d0 (isingflow.extract.equilibrium_average)."""
import numpy as np
import pytest

from isingflow.extract.equilibrium_average import (
    EquilibriumAverageError,
    equilibrium_average,
    lambda_at_distance,
    stacking_weights,
)

DS = [6.0, 6.28, 6.5, 6.88, 7.2]


def _exp(d, a=40.0, ell=0.45):
    return a * np.exp(-(np.asarray(d) - 6.0) / ell)


def test_exponential_interpolation_is_exact_and_keeps_the_sign():
    for sign in (+1, -1):
        lam, bracket, how = lambda_at_distance(DS, sign * _exp(DS), 6.37)
        assert how == "exponential" and bracket == [6.28, 6.5]
        assert lam == pytest.approx(sign * _exp(6.37), rel=1e-12)


def test_sign_change_is_interpolated_linearly_and_order_does_not_matter():
    lam, bracket, how = lambda_at_distance([6.88, 6.28], [-2.0, 4.0], 6.58)
    assert (how, bracket) == ("linear", [6.28, 6.88])
    assert lam == pytest.approx(1.0)


def test_computed_distance_is_taken_as_is():
    assert lambda_at_distance(DS, _exp(DS), 6.28) == (pytest.approx(_exp(6.28)), [6.28, 6.28], "exact")


@pytest.mark.parametrize("d0", [5.9, 7.3])
def test_no_extrapolation(d0):
    with pytest.raises(EquilibriumAverageError, match="not extrapolated"):
        lambda_at_distance(DS, _exp(DS), d0)


def _samples(d0s, grid_w):
    """Three stackings whose λex(d) differ by a factor; their λex at their own d0 is known exactly."""
    rows = []
    for i, (name, w) in enumerate(grid_w.items()):
        rows += [{"stacking": name, "d_angstrom": d, "lambda_ex_meV": (i + 1) * float(_exp(d)),
                  "grid_weights": w, "weight": 1.0} for d in DS]
    return rows


def test_grid_average_at_each_stackings_d0():
    grid_w = {"reg-a": {"3": 0.5, "6": 0.25}, "reg-b": {"3": 0.25, "6": 0.5}, "reg-c": {"3": 0.25, "6": 0.25}}
    d0 = {"reg-a": 6.2, "reg-b": 6.4, "reg-c": 6.33}
    binding = {"curves": [{"stacking": k, "d0_angstrom": v} for k, v in d0.items()]}
    out = equilibrium_average(binding, _samples(d0, grid_w), grids=[3, 6])
    exact = {n: sum(grid_w[k][n] * (i + 1) * _exp(d0[k]) for i, k in enumerate(grid_w)) for n in ("3", "6")}
    assert out["by_grid_meV"] == pytest.approx(exact, rel=1e-10)
    assert out["stacking_grid"] == 6 and out["lambda_ex_avg_meV"] == pytest.approx(exact["6"])
    assert out["grid_change_meV"] == pytest.approx(exact["6"] - exact["3"])
    assert not out["counterpoise_corrected"]
    # counterpoise-corrected minima, when every curve has one, are the ones used
    cp = {"curves": [{"stacking": k, "d0_angstrom": v, "d0_cp_angstrom": v + 0.2} for k, v in d0.items()]}
    out_cp = equilibrium_average(cp, _samples(d0, grid_w), grids=[3, 6])
    assert out_cp["counterpoise_corrected"]
    assert [r["d0_angstrom"] for r in out_cp["stackings"]] == pytest.approx([v + 0.2 for v in d0.values()])


def test_without_a_grid_the_sampled_weights_are_used_and_said():
    grid_w = {"reg-a": {}, "reg-b": {}}
    binding = {"curves": [{"stacking": "reg-a", "d0_angstrom": 6.3}, {"stacking": "reg-b", "d0_angstrom": 6.3}]}
    out = equilibrium_average(binding, _samples(None, grid_w), grids=[3])
    assert out["stacking_grid"] is None and "not a converged stacking average" in out["method"]
    assert out["lambda_ex_avg_meV"] == pytest.approx(1.5 * _exp(6.3))


def test_a_stacking_without_lambda_or_outside_its_distances_is_named():
    binding = {"curves": [{"stacking": "reg-a", "d0_angstrom": 6.3}, {"stacking": "reg-z", "d0_angstrom": 6.3}]}
    with pytest.raises(EquilibriumAverageError, match="reg-z"):
        equilibrium_average(binding, _samples(None, {"reg-a": {"3": 1.0}}), grids=[3])
    binding = {"curves": [{"stacking": "reg-a", "d0_angstrom": 7.5}]}
    with pytest.raises(EquilibriumAverageError, match="reg-a.*not extrapolated"):
        equilibrium_average(binding, _samples(None, {"reg-a": {"3": 1.0}}), grids=[3])


def test_stacking_weights_from_a_manifest():
    manifest = {"variants": {
        "base": {"registry": {"frac": [0, 0], "weight": 1.0}},
        "reg-0.000-0.000_d-6.28": {"registry": {"weight": 1 / 9, "grid_weights": {"3": 1 / 9}}},
        "reg-0.000-0.000_d-6.88": {"registry": {"weight": 1 / 9, "grid_weights": {"3": 1 / 9}}},
        "reg-0.000-0.333_d-6.88": {"registry": {"weight": 2 / 9, "grid_weights": {"3": 2 / 9}}}}}
    w = stacking_weights(manifest)
    assert set(w) == {"reg-0.000-0.000", "reg-0.000-0.333"}
    assert w["reg-0.000-0.333"] == {"grid_weights": {"3": 2 / 9}, "weight": 2 / 9}
