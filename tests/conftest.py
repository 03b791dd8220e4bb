"""Shared fixtures: the repository root, and a real Snakemake run in a temporary folder."""
from __future__ import annotations

import os
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
