"""Benchmark: wall time of the `quick` GPAW ground state of the NbSe2 monolayer and of one
NbSe2/CrBr3/NbSe2 trilayer variant, printed with the settings used.

    .venv/bin/python benchmarks/dft_bench.py [--profile quick] [--skip-trilayer]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from isingflow.config import profile_settings, validate_config  # noqa: E402
from isingflow.dft.gpaw import run_ground_state  # noqa: E402
from isingflow.structures import build_system  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--skip-trilayer", action="store_true")
    args = ap.parse_args()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["profile"] = args.profile
    validate_config(config)
    dft = profile_settings(config, "dft")
    print(f"profile {args.profile}: {dft}")
    systems = [config["dft"]["monolayer"]["system"]]
    if not args.skip_trilayer:
        systems.append(config["extract"]["heterostructure"])
    with tempfile.TemporaryDirectory() as tmp:
        for system in systems:
            atoms, _ = build_system(config, system, ["base"])["base"]
            t0 = time.perf_counter()
            summary = run_ground_state(atoms, dft, Path(tmp) / f"{system}.gpw", txt=Path(tmp) / f"{system}.txt",
                                       xc=config["dft"]["xc"])
            dt = time.perf_counter() - t0
            print(f"{system:24s} {len(atoms):4d} atoms  k-mesh {'x'.join(map(str, summary['kpts_size']))}  "
                  f"spin-polarised {summary['spin_polarized']}  SCF iterations {summary['scf_iterations']:3d}  "
                  f"wall time {dt:8.1f} s  ({dt / max(summary['scf_iterations'], 1):.2f} s/iteration)")


if __name__ == "__main__":
    main()
