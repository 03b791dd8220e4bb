"""Benchmark of the main job: wall time of `snakemake --cores N` (what `make run` runs) from scratch.

Clones the committed tree (HEAD) into a temporary folder, reuses this checkout's `.venv` (the
set-up is not timed; the clone's `isingflow` comes first on PYTHONPATH), runs the whole workflow
on the chosen profile and prints the total wall time and each DFT ground state's wall time and
SCF iterations (from its gs.json).

    .venv/bin/python benchmarks/run_bench.py [--cores 2] [--profile quick] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--keep", help="run in this (new) folder and keep it, instead of a temporary one")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="isingflow-run-"))
    if work.exists() and any(work.iterdir()):
        sys.exit(f"--keep {work}: folder exists and is not empty")
    subprocess.run(["git", "clone", "-q", str(REPO), str(work)], check=True)
    (work / ".venv").symlink_to(REPO / ".venv")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=work, capture_output=True,
                          text=True).stdout.strip()
    cmd = [str(REPO / ".venv" / "bin" / "snakemake"), "--cores", str(args.cores), "--config", f"profile={args.profile}"]
    print(f"commit {head}, profile {args.profile}, {args.cores} cores, {os.cpu_count()} CPUs on this machine")
    print("running:", " ".join(cmd), "in", work, flush=True)
    t0 = time.perf_counter()
    with open(work / "snakemake.log", "w") as log:
        # the clone's own isingflow (the shared .venv's editable install points at this checkout)
        env = dict(os.environ, PYTHONPATH=str(work) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.run(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - t0
    print(f"exit status {proc.returncode}; wall time {wall:.0f} s ({wall / 60:.1f} min); log {work / 'snakemake.log'}")
    rows = []
    for gs in sorted((work / "results" / "dft").glob("*/*/gs.json")):
        d = json.loads(gs.read_text())
        rows.append((gs.parent.parent.name, gs.parent.name, d.get("wall_time_s") or float("nan"), d["scf_iterations"]))
    print(f"{'system':24s} {'variant':26s} {'SCF wall (s)':>12s} {'iterations':>10s}")
    for system, variant, t, n in rows:
        print(f"{system:24s} {variant:26s} {t:12.0f} {n:10d}")
    print(f"sum of ground-state wall times: {sum(r[2] for r in rows):.0f} s")
    figures = sorted(p.name for p in (work / "results" / "figures").glob("*"))
    print("figures:", ", ".join(figures))
    if not args.keep:
        shutil.rmtree(work)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
