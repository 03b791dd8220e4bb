"""Shared fixtures: the repository root, a real Snakemake run in a temporary folder, and the local
Slurm cluster.

The Slurm executor plugin runs ``scontrol show config`` whenever Snakemake builds its command line
(every call, with or without ``--executor slurm``).  Where Slurm is installed but its controller is
down, that call waits about 9 s for the controller on every ``snakemake`` the tests start.  So the
controller runs for the whole test session wherever Slurm is installed and we are root: it is
started at the session start (about 4 s; nothing is installed then), or by the Slurm tests (which
install it when missing), and stopped at the session end if this session started it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def run_snakemake(workdir: Path, targets=(), config: dict | None = None, configfile: Path | None = None,
                  extra=(), cores: int = 2, check: bool = True, timeout: float = 1800):
    """Run the real workflow (``REPO/Snakefile``) with ``workdir`` as its working directory.

    ``config`` entries are passed as ``--config key=value`` (YAML-encoded values).
    Returns the CompletedProcess (stdout and stderr merged in ``.stdout``).
    """
    cmd = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", str(cores), "--nolock", "--show-failed-logs", *targets, *extra]
    # --configfile and --config take every following word as a value: they go last
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    if config:
        cmd += ["--config"] + [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                               for k, v in config.items()]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{' '.join(cmd)}\n{proc.stdout[-8000:]}")
    return proc


@pytest.fixture
def snakemake_run():
    """The :func:`run_snakemake` helper as a fixture."""
    return run_snakemake


_SLURM_BINARIES = ("slurmctld", "slurmd", "sbatch", "munged")
_slurm_state: dict = {"up": False, "started_here": False}


def _slurm_unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Slurm tests, but {reason}")
    pytest.skip(reason)


def start_local_slurm() -> str | None:
    """Start the one-node cluster with ``tools/slurm_local_up.sh`` (installing it when missing);
    None when it is up, else the reason it cannot run here."""
    if _slurm_state["up"]:
        return None
    if os.geteuid() != 0:
        return "a local Slurm cluster needs root (munged, slurmctld, slurmd, /etc/slurm)"
    if not shutil.which("apt-get") and not all(map(shutil.which, _SLURM_BINARIES)):
        return "Slurm is not installed and there is no apt-get to install it"
    up = subprocess.run(["timeout", "-k", "10", "300", str(REPO / "tools" / "slurm_local_up.sh")],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=330,
                        start_new_session=True)
    if up.returncode == 2:
        return up.stdout.strip().splitlines()[-1]
    if up.returncode != 0:
        return f"tools/slurm_local_up.sh failed ({up.returncode}):\n{up.stdout[-4000:]}"
    _slurm_state.update(up=True, started_here="cluster already up" not in up.stdout)
    return None


@pytest.fixture(scope="session", autouse=True)
def _slurm_controller_for_the_session():
    """Where Slurm is installed (and we are root), its controller answers during the whole
    session, so that no ``snakemake`` call waits for it; stopped at the end if started here."""
    if os.geteuid() == 0 and all(map(shutil.which, _SLURM_BINARIES)):
        start_local_slurm()  # a failure here is reported by the Slurm tests themselves
    yield
    if _slurm_state["started_here"]:
        subprocess.run(["timeout", "-k", "5", "60", str(REPO / "tools" / "slurm_local_down.sh")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node Slurm cluster (partition ``debug``) for the rest of the session."""
    reason = start_local_slurm()
    if reason:
        _slurm_unavailable(reason)
