"""The Slurm profile on a real one-node Slurm cluster (Debian's slurm-wlm + munge, no slurmdbd).

The first test needs no cluster: the profiles name real rules and scale with `attempt`.
For the others (marker ``slurm``), the session fixture ``slurm_cluster`` of ``conftest.py`` starts
the cluster with ``tools/slurm_local_up.sh`` (installs the packages with apt-get when missing); it
stays up until the session ends, when ``tools/slurm_local_down.sh`` stops it (only if this session
started it), so that later ``snakemake`` calls do not wait for a stopped controller.  Every run is
the real workflow with the real profile and a small overlay for the 2-CPU test node:

    snakemake --profile workflow/profiles/slurm --workflow-profile workflow/profiles/slurm-local-test

(a later profile wins key by key: executor, retries, rerun-incomplete, ... come from the real
profile; jobs, status command, poll delay and resource sizes from the overlay).

Where the machine cannot run Slurm (not root, no apt-get) the tests are skipped with the reason,
except when the environment variable ``CI`` is set: CI must run them, so there it is a failure.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

TARGET = "results/parameters/NbSe2-1L.json"
GS_TARGET = "results/dft/NbSe2-1L/base/gs.json"
DFT_DIR = Path("results/dft/NbSe2-1L/base")
PROFILES = REPO / "workflow" / "profiles"
RUN_TIMEOUT = 240  # s per snakemake run (measured: ~50-60 s)


def _cmd(workdir: Path, *targets: str) -> list[str]:
    return ["timeout", "-k", "10", str(RUN_TIMEOUT), sys.executable, "-m", "snakemake",
            "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--profile", str(PROFILES / "slurm"), "--workflow-profile", str(PROFILES / "slurm-local-test"),
            *targets, "--config", "profile=smoke"]


def _start(workdir: Path, *targets: str) -> tuple[subprocess.Popen, Path]:
    log = workdir / "snakemake.out"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(log, "w") as fh:
        proc = subprocess.Popen(_cmd(workdir, *targets), cwd=workdir, env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def _finish(proc: subprocess.Popen, log: Path) -> str:
    try:
        proc.wait(timeout=RUN_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    out = log.read_text()
    assert proc.returncode == 0, f"snakemake --executor slurm failed ({proc.returncode}):\n{out[-8000:]}"
    return out


def _run_uuid(out: str) -> str:
    m = re.search(r"SLURM run ID: (\S+)", out)
    assert m, out[-3000:]
    return m.group(1)


def _slurm_jobs(run_uuid: str) -> list[dict]:
    """This run's Slurm jobs (the plugin names every job after the run ID), oldest first.

    Finished jobs stay visible to squeue for MinJobAge = 300 s (slurm_local_up.sh)."""
    fmt = "%i|%j|%k|%l|%m|%C|%T"
    out = subprocess.run(["squeue", "--states=all", "--noheader", f"--format={fmt}"], check=True,
                         stdout=subprocess.PIPE, text=True, timeout=30).stdout
    keys = ("id", "name", "comment", "time_limit", "memory", "cpus", "state")
    jobs = [dict(zip(keys, line.split("|"))) for line in out.splitlines() if line.strip()]
    return sorted((j for j in jobs if j["name"] == run_uuid), key=lambda j: int(j["id"]))


def _rule_jobs(jobs: list[dict], rule: str) -> list[dict]:
    return [j for j in jobs if j["comment"].startswith(f"rule_{rule}")]


def test_slurm_profiles_match_the_workflow(tmp_path):
    """No cluster needed: the profiles name real rules, DFT resources grow with `attempt`, and a
    dry run with the real profile gives the DFT jobs their MPI ranks."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    base = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path)]
    listed = subprocess.run(["timeout", "-k", "10", "120", *base, "--list-rules", "--workflow-profile", "none"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=150)
    assert listed.returncode == 0, listed.stdout[-3000:]
    rules = {line.split()[0] for line in listed.stdout.splitlines() if line and not line[0].isspace()}
    real = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
    test = yaml.safe_load((PROFILES / "slurm-local-test" / "config.yaml").read_text())
    assert real["executor"] == "slurm" and real["retries"] >= 1 and real["rerun-incomplete"] is True
    for profile in (real, test):
        assert set(profile["set-resources"]) <= rules, set(profile["set-resources"]) - rules
        # a slurm_account resource makes the plugin call sacctmgr: it stays a site value
        assert "slurm_account" not in profile.get("default-resources", {})
    for rule in ("dft_ground_state", "dft_bands"):
        res = real["set-resources"][rule]
        assert res["mpi"] == "srun" and res["tasks"] > 1
        for key in ("runtime", "mem_mb_per_cpu"):
            one, two = (eval(str(res[key]), {"attempt": a}) for a in (1, 2))  # noqa: S307 - our file
            assert two == 2 * one > 0, (rule, key)
    dry = subprocess.run(["timeout", "-k", "10", "120", *base, "-n", "--profile", str(PROFILES / "slurm"),
                          "--workflow-profile", "none", TARGET, "--config", "profile=smoke"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=150)
    assert dry.returncode == 0, dry.stdout[-3000:]
    gs = dry.stdout.split("rule dft_ground_state:")[1].split("rule ")[0]
    assert "mpi=srun" in gs and "tasks=32" in gs and "runtime=480" in gs, gs


@pytest.mark.slurm
@pytest.mark.slow
def test_monolayer_chain_through_slurm(slurm_cluster, tmp_path):
    """structure → GPAW SCF (2 MPI tasks) → SOC / no-SOC bands → ΔSOC(K), every job through sbatch."""
    out = _finish(*_start(tmp_path, TARGET))
    params = json.loads((tmp_path / TARGET).read_text())
    assert params["profile"] == "smoke"
    assert 110 < params["ising_splitting_full_K_meV"] < 200
    assert params["delta_soc_half_K_meV"] == pytest.approx(params["ising_splitting_full_K_meV"] / 2)
    for name in ("gs.gpw", "gs.json", "mesh.npz", "bands_soc.npz", "bands_nosoc.npz"):
        assert (tmp_path / DFT_DIR / name).stat().st_size > 0, name
    assert (tmp_path / "results/figures/NbSe2-1L_bands.png").stat().st_size > 10_000

    jobs = _slurm_jobs(_run_uuid(out))
    gs, bands = _rule_jobs(jobs, "dft_ground_state"), _rule_jobs(jobs, "dft_bands")
    assert [j["state"] for j in gs] == ["COMPLETED"], jobs
    assert gs[0]["cpus"] == "2" and gs[0]["time_limit"] == "5:00", gs  # tasks=2 (mpi), runtime 5 min
    assert sorted(j["comment"].rsplit("_", 1)[-1] for j in bands) == ["nosoc", "soc"], bands
    assert all(j["state"] == "COMPLETED" for j in jobs), jobs
    assert "Trying to restart" not in out and "Error in rule" not in out


@pytest.mark.slurm
@pytest.mark.slow
def test_failed_dft_job_is_retried(slurm_cluster, tmp_path):
    """The ground-state job is killed once mid-SCF (scancel --signal=KILL, as an OOM killer or
    a node problem would); the profile's `retries` resubmits it with the runtime and memory of
    attempt 2, and the run ends well."""
    proc, log = _start(tmp_path, GS_TARGET)
    gpaw_txt = tmp_path / "results/logs/dft/NbSe2-1L/base/gs.gpaw.txt"
    killed = None
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while killed is None:
            assert proc.poll() is None and time.monotonic() < deadline, \
                f"the run ended before the ground-state job iterated:\n{log.read_text()[-6000:]}"
            if gpaw_txt.is_file() and "|iter:" in gpaw_txt.read_text(errors="replace"):
                running = [j for j in _rule_jobs(_slurm_jobs(_run_uuid(log.read_text())), "dft_ground_state")
                           if j["state"] == "RUNNING"]
                assert len(running) == 1, running
                killed = running[0]["id"]
                subprocess.run(["scancel", "--signal=KILL", "--full", killed], check=True, timeout=30)
            time.sleep(0.1)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    out = _finish(proc, log)

    assert "Trying to restart job" in out
    summary = json.loads((tmp_path / GS_TARGET).read_text())
    assert summary["scf_iterations"] > 0  # killed mid-SCF: nothing cached, attempt 2 iterated again
    gs = _rule_jobs(_slurm_jobs(_run_uuid(out)), "dft_ground_state")
    assert [j["id"] for j in gs][0] == killed and len(gs) == 2, gs
    first, second = gs
    assert first["state"] in ("CANCELLED", "FAILED") and second["state"] == "COMPLETED", gs
    # attempt 2 asks for twice the runtime and memory ("5 * attempt", "1000 * attempt" per CPU)
    assert (first["time_limit"], second["time_limit"]) == ("5:00", "10:00"), gs
    assert (first["memory"], second["memory"]) == ("1000M", "2000M"), gs
    # the plugin keeps the Slurm log of the failed attempt only
    kept = sorted(p.name for p in (tmp_path / ".snakemake/slurm_logs").rglob("*.log"))
    assert kept == [f"{killed}.log"], kept
