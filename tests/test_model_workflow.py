"""A real Snakemake run of the `model` target on reduced grids (config overrides), in a tmp dir.

The overrides go through ``--configfile`` (deep-merged over config/config.yaml), which keeps
numbers typed; ``--config model={...}`` would turn nested numbers into strings.
"""
from __future__ import annotations

import copy
import csv
import json
import math
import re

import pytest
import yaml


def _small_model_config(repo_root):
    cfg = yaml.safe_load(open(repo_root / "config" / "config.yaml"))["model"]
    small = copy.deepcopy(cfg)
    small["fig2"].update({"B": [0.0, 0.45, 0.67], "gamma0": 0.05, "v_max": 4.0, "output_bias_step": 0.01,
                          "inset_points": 4})
    small["fig3b"].update({"n_phi": 7})
    small["hysteresis"].update({"K_ueV": [10.0, 45.0]})
    return small


def _run(snakemake_run, workdir, model, **kw):
    cfg = workdir / "model_override.yaml"
    cfg.write_text(yaml.safe_dump({"model": model}))
    return snakemake_run(workdir, targets=["model"], configfile=cfg, **kw)


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_model_target_runs(tmp_path, repo_root, snakemake_run):
    model = _small_model_config(repo_root)
    _run(snakemake_run, tmp_path, model)
    res = tmp_path / "results"
    for name in ("fig2_dIdV", "fig2c_peaks", "fig2_order_parameter", "fig3b_Bc", "table1_scaling", "hysteresis"):
        f = res / "model" / f"{name}.csv"
        assert f.is_file() and (res / "model" / f"{name}.csv.prov.json").is_file()
        prov = json.loads((res / "model" / f"{name}.csv.prov.json").read_text())
        assert "settings_sha256" in prov and prov["rows"] == len(_rows(f))
    for name in ("fig2a.png", "fig2b.png", "fig2c.png", "fig3b.png"):
        png = res / "figures" / name
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    assert "Table I" in (res / "figures" / "table1.md").read_text()
    for log in ("fig2", "fig3b", "table1", "hysteresis", "plot_fig2", "plot_fig3b"):
        assert (res / "logs" / "model" / f"{log}.log").is_file()

    # physics of the reduced run
    peaks = {(r["direction"], float(r["B"])): r for r in _rows(res / "model" / "fig2c_peaks.csv")}
    assert set(r["direction"] for r in _rows(res / "model" / "fig2_dIdV.csv")) == {"par", "perp"}
    for B in (0.45, 0.67):
        par, perp = peaks[("par", B)], peaks[("perp", B)]
        assert float(perp["delta_o"]) > float(par["delta_o"])  # gap larger when B rotates in plane
        assert abs(float(par["V_peak"]) - 2 * float(par["delta_o"])) < 5e-3
        assert float(perp["fwhm"]) > float(peaks[("perp", 0.0)]["fwhm"])  # broadening for B ⊥ c
    assert abs(float(peaks[("par", 0.67)]["delta_o"]) - 1.58880) < 2e-4
    bc = {(r["easy_axis"], float(r["phi_deg"])): float(r["Bc"]) for r in _rows(res / "model" / "fig3b_Bc.csv")}
    assert len(bc) == 3 * 7
    assert abs(bc[("x", 0.0)] - 7.976) < 1e-3 and abs(bc[("x", 90.0)] - 7.116) < 1e-3
    assert abs(bc[("y", 0.0)] - bc[("x", 90.0)]) < 1e-8
    assert max(v for (a, _), v in bc.items() if a == "z") - min(v for (a, _), v in bc.items() if a == "z") < 1e-8
    hyst = [r for r in _rows(res / "model" / "hysteresis.csv") if r["source"] == "input" and float(r["c"]) == 1.0]
    assert [float(r["t_flop"]) for r in hyst] == pytest.approx([0.952, 0.737], abs=1e-3)
    t1 = {(r["quantity"], r["direction"], r["x"]): r for r in _rows(res / "model" / "table1_scaling.csv")}
    assert abs(float(t1[("order_parameter_shift", "perp", "B/Delta_SOC")]["exponent"]) - 2) < 0.05
    assert not math.isnan(float(t1[("peak_shift", "par", "B/Delta_o")]["exponent"]))

    # a changed model setting reruns exactly the affected job
    model["fig3b"]["eta"] = 1.0
    dry = _run(snakemake_run, tmp_path, model, extra=["-n"])
    jobs = set(re.findall(r"^(model\w*)\s+\d+\s*$", dry.stdout, re.M))
    assert "model_fig3b" in jobs and "model_fig2" not in jobs and "model_hysteresis" not in jobs


def test_model_config_rejects_bad_value(tmp_path, repo_root, snakemake_run):
    model = _small_model_config(repo_root)
    model["fig2"]["soc"] = "cos2theta"
    proc = _run(snakemake_run, tmp_path, model, extra=["-n"], check=False)
    assert proc.returncode != 0
    assert "model.fig2.soc" in proc.stdout
