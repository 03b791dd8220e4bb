"""Real MPI: a DFT job given ``resources: mpi, tasks`` runs GPAW on that many ranks.

The project's default GPAW is a serial build.  This test builds GPAW once more, with MPI (Open MPI,
``tools/gpaw_siteconfig_mpi.py``), into a temporary folder that is put first on PYTHONPATH, then
runs the smoke monolayer ground state through Snakemake on 2 ranks and compares it with a serial
run.  Where Open MPI cannot be installed (not root, no apt-get) the test is skipped with the
reason, except under CI, where that is a failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_snakemake

pytestmark = pytest.mark.slow
TARGET = "results/dft/NbSe2-1L/base/gs.json"


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the MPI test, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def mpi_gpaw(tmp_path_factory):
    """A folder holding an MPI build of the pinned GPAW (first on PYTHONPATH for the jobs)."""
    if not (shutil.which("mpicc") and shutil.which("mpiexec")):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            _unavailable("Open MPI (mpicc, mpiexec) is missing and cannot be installed here")
        apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "openmpi-bin", "libopenmpi-dev"]
        if subprocess.run(install, env=apt_env, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=apt_env, check=True)
            subprocess.run(install, env=apt_env, check=True, stdout=subprocess.DEVNULL)
    pin = next(line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()
               if line.startswith("gpaw=="))
    target = tmp_path_factory.mktemp("gpaw-mpi")
    env = dict(os.environ, CC="mpicc", OMPI_CC="g++", GPAW_CONFIG=str(REPO / "tools" / "gpaw_siteconfig_mpi.py"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-cache-dir", "--no-binary",
                    "gpaw", "--no-build-isolation", "--target", str(target), pin], check=True, env=env)
    probe = subprocess.run([sys.executable, "-c", "from gpaw import cgpaw; print(cgpaw.have_mpi)"],
                           env=dict(os.environ, PYTHONPATH=str(target)), capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "True", probe
    return target


def _energy(workdir):
    return json.loads((workdir / TARGET).read_text())["energy_eV"]


def test_ground_state_on_two_mpi_ranks_matches_serial(mpi_gpaw, tmp_path, monkeypatch):
    serial, parallel = tmp_path / "serial", tmp_path / "mpi"
    serial.mkdir()
    parallel.mkdir()
    run_snakemake(serial, targets=[TARGET], config={"profile": "smoke"})
    monkeypatch.setenv("PYTHONPATH", str(mpi_gpaw))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    launcher = "mpiexec --allow-run-as-root --oversubscribe" if os.geteuid() == 0 else "mpiexec --oversubscribe"
    run_snakemake(parallel, targets=[TARGET], config={"profile": "smoke"},
                  extra=["--set-resources", f"dft_ground_state:mpi='{launcher}'", "dft_ground_state:tasks=2"])
    log = (parallel / "results/logs/dft/NbSe2-1L/base/gs.log").read_text()
    assert "relaunching on 2 MPI ranks" in log
    gpaw_txt = (parallel / "results/logs/dft/NbSe2-1L/base/gs.gpaw.txt").read_text()
    assert re.search(r"^cores:\s+2\s*$", gpaw_txt, re.M), gpaw_txt[:3000]
    serial_txt = (serial / "results/logs/dft/NbSe2-1L/base/gs.gpaw.txt").read_text()
    assert re.search(r"^cores:\s+1\s*$", serial_txt, re.M)
    assert _energy(parallel) == pytest.approx(_energy(serial), abs=1e-4)
