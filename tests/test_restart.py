"""Kill-and-resume: a run killed with SIGKILL during a GPAW job resumes with
``snakemake --rerun-incomplete`` and gives the same numbers; a converged SCF is reused.

Every run is the real workflow (``REPO/Snakefile``) on the ``smoke`` profile in a temporary
folder, started as its own process group (``start_new_session``) under ``timeout -k``, so that
``os.killpg(..., SIGKILL)`` takes snakemake, its job shells and the GPAW Python process down at
once, the way a node failure, an OOM killer or ``scancel`` would.  Locks are on (no
``--nolock``): the SIGKILL leaves a stale lock, removed with ``snakemake --unlock``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

TARGET = "results/parameters/NbSe2-1L.json"
DFT_DIR = Path("results/dft/NbSe2-1L/base")
LOG_DIR = Path("results/logs/dft/NbSe2-1L/base")
GS_OUTPUTS = ("gs.gpw", "gs.json", "mesh.npz")
RUN_TIMEOUT = 300  # s, per snakemake run (smoke: ~15 s)


def _cmd(workdir: Path, *args: str, timeout: int = RUN_TIMEOUT) -> list[str]:
    # timeout -k: snakemake ignores SIGTERM while jobs run; SIGKILL 10 s later ends it for sure.
    # --workflow-profile none: no profile can switch rerun-incomplete on behind the test's back.
    return ["timeout", "-k", "10", str(timeout), sys.executable, "-m", "snakemake",
            "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--workflow-profile", "none",
            *args, "--config", "profile=smoke"]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _run(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """One snakemake run to its end, in its own process group (killed as a group on timeout)."""
    proc = subprocess.Popen(_cmd(workdir, *args), cwd=workdir, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, _ = proc.communicate()
        raise AssertionError(f"snakemake {' '.join(args)} did not finish:\n{out[-6000:]}")
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{out[-6000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _start_and_kill_when(workdir: Path, ready, what: str, cores: int = 1, poll_s: float = 0.05):
    """Start the smoke run of TARGET, SIGKILL its whole process group as soon as ``ready()``.

    Returns the run's output.  Fails if the run ended (or timed out) before ``ready()``.
    """
    log = workdir / "killed_run.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(_cmd(workdir, "--cores", str(cores), TARGET), cwd=workdir, env=_env(),
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + RUN_TIMEOUT
        try:
            while not ready():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the run ended before {what} (rc={proc.returncode}):\n"
                                         f"{log.read_text()[-6000:]}")
                time.sleep(poll_s)
            _kill_group(proc)
        finally:
            _kill_group(proc)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    time.sleep(0.5)  # anything still flushing would show up now
    return log.read_text()


def _scf_iterations_logged(gpaw_txt: Path) -> int:
    if not gpaw_txt.is_file():
        return 0
    return sum(1 for line in gpaw_txt.read_text(errors="replace").splitlines() if line.startswith("|iter:"))


def _part_files(workdir: Path) -> list[Path]:
    return [p for p in (workdir / "results").rglob("*") if ".part" in p.name]


def _resume(workdir: Path) -> subprocess.CompletedProcess:
    """What a user does after a killed run: unlock, then rerun what was incomplete."""
    locks = workdir / ".snakemake" / "locks"
    # a SIGKILLed run leaves its lock behind (the next run would stop with LockException)
    assert locks.is_dir() and any(locks.iterdir())
    _run(workdir, "--unlock", TARGET)
    return _run(workdir, "--cores", "2", "--rerun-incomplete", TARGET)


def _splitting(workdir: Path) -> float:
    return json.loads((workdir / TARGET).read_text())["ising_splitting_full_K_meV"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> float:
    """ΔSOC(K) of an uninterrupted run."""
    workdir = tmp_path_factory.mktemp("reference")
    _run(workdir, "--cores", "2", TARGET)
    value = _splitting(workdir)
    assert 110 < value < 200
    return value


def test_sigkill_during_scf_then_rerun_incomplete(tmp_path, reference):
    """SIGKILL while GPAW iterates: nothing that looks finished is left; the resumed run
    recomputes the SCF and reproduces the uninterrupted result."""
    gpaw_txt = tmp_path / LOG_DIR / "gs.gpaw.txt"
    _start_and_kill_when(tmp_path, lambda: _scf_iterations_logged(gpaw_txt) >= 1,
                         "the first SCF iteration of the ground-state job")
    dft = tmp_path / DFT_DIR
    # the job was killed mid-SCF: none of its outputs, no converged cache, no half-written file
    assert 1 <= _scf_iterations_logged(gpaw_txt)
    leftovers = [p.name for p in dft.iterdir()] if dft.is_dir() else []
    assert not any(name in leftovers for name in GS_OUTPUTS), leftovers
    assert not list(dft.glob(".scf-cache/*.gpw")) if dft.is_dir() else True
    assert _part_files(tmp_path) == []
    assert not (tmp_path / TARGET).exists()

    _resume(tmp_path)
    summary = json.loads((tmp_path / DFT_DIR / "gs.json").read_text())
    assert summary["reused_converged_gpw"] is False and summary["scf_iterations"] > 0
    assert _splitting(tmp_path) == pytest.approx(reference, abs=1e-6)
    assert _part_files(tmp_path) == []


def test_converged_scf_is_reused_after_a_kill(tmp_path, reference):
    """SIGKILL during the band jobs, after the SCF converged; the resumed run loads the cached
    converged .gpw instead of iterating again.

    The ground-state job writes its cache entry (``.scf-cache/gs-<inputs hash>.gpw``) and
    finishes a fraction of a second later, too short a window to hit with a kill reliably.  So
    the kill comes during the first band job, and the test then removes the ground-state
    outputs: the state a kill inside that window leaves once ``--rerun-incomplete`` has deleted
    the incomplete outputs (the cache is not an output; it survives).
    """
    gpaw_txt = tmp_path / LOG_DIR / "gs.gpaw.txt"
    band_logs = [tmp_path / LOG_DIR / f"bands_{k}.gpaw.txt" for k in ("soc", "nosoc")]
    _start_and_kill_when(tmp_path, lambda: any(p.is_file() for p in band_logs), "a band job started")
    dft = tmp_path / DFT_DIR
    cached = list(dft.glob(".scf-cache/gs-*.gpw"))
    assert len(cached) == 1
    first = json.loads((dft / "gs.json").read_text())
    assert first["reused_converged_gpw"] is False and first["scf_iterations"] > 0
    # the killed band job left no output, and the chain has not finished
    running = [p.name.removesuffix(".gpaw.txt") for p in band_logs if p.is_file()]
    assert running and not any((dft / f"{name}.npz").exists() for name in running)
    assert _part_files(tmp_path) == [] and not (tmp_path / TARGET).exists()
    cache_stat = cached[0].stat()  # (its mtime is not compared: gs.gpw is a hard link to it
    # and snakemake touches its outputs)

    for name in GS_OUTPUTS:  # what --rerun-incomplete removes for a ground-state job killed late
        (dft / name).unlink()

    _resume(tmp_path)
    summary = json.loads((dft / "gs.json").read_text())
    assert summary["reused_converged_gpw"] is True and summary["scf_iterations"] == 0
    assert _scf_iterations_logged(gpaw_txt) == 0, "the SCF ran again"
    assert summary["energy_eV"] == pytest.approx(first["energy_eV"], abs=1e-9)
    # the cache entry was only read (a rewrite would be a new inode: atomic rename), and the new
    # gs.gpw is that very file (hard link) or a copy of it
    assert cached[0].stat().st_ino == cache_stat.st_ino
    assert (dft / "gs.gpw").read_bytes() == cached[0].read_bytes()
    assert _splitting(tmp_path) == pytest.approx(reference, abs=1e-6)
    assert _part_files(tmp_path) == []
