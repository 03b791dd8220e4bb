"""Benchmark of the model stage: wall time of the Fig. 2 and Fig. 3b workloads.

Fig. 2 workload: Δo and one dI/dV curve (bias step γ0/10 up to v_max, ≥ 2000 points) for every B of
``model.fig2.B`` in both field directions.  Fig. 3b workload: in-plane B_c for 3 easy axes × n_phi
angles.  Parameters come from config/config.yaml (``model:``).  Runs on one core (BLAS threads = 1).

    .venv/bin/python benchmarks/model_bench.py [--repeat 3]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from isingflow.model.gap import order_parameter_for  # noqa: E402
from isingflow.model.spectra import conductance_grid, peak_and_fwhm  # noqa: E402
from isingflow.model.stage import _fig2_params, _omega_max, fig3b_compute  # noqa: E402


def fig2_workload(fig2: dict, numerics: dict) -> tuple[int, int]:
    npts = []
    for direction in fig2["directions"]:
        for B in fig2["B"]:
            p = _fig2_params(fig2, direction, B, numerics)
            d = order_parameter_for(fig2["T"], p, _omega_max(p, numerics), tol=numerics["sc_tol_matsubara"])
            V, G = conductance_grid(fig2["v_max"], fig2["T"], d, p, gamma0=fig2["gamma0"],
                                    spin_filter=tuple(fig2["spin_filter"]),
                                    de=fig2.get("energy_step") or fig2["gamma0"] / 10,
                                    e_max=fig2["e_max"], tol=numerics["sc_tol"], maxit=numerics["sc_maxit"])
            peak_and_fwhm(V, G, d, fig2["peak_window"])
            npts.append(V.size)
    return len(npts), min(npts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "config" / "config.yaml"))
    ap.add_argument("--repeat", type=int, default=3, help="repetitions; the best time is reported")
    args = ap.parse_args()
    model = yaml.safe_load(open(args.config))["model"]
    fig2, fig3b, numerics = model["fig2"], model["fig3b"], model["numerics"]
    t2 = t3 = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ncurves, npts = fig2_workload(fig2, numerics)
        t2 = min(t2, time.perf_counter() - t0)
        t0 = time.perf_counter()
        rows = fig3b_compute(fig3b, numerics)
        t3 = min(t3, time.perf_counter() - t0)
    print(f"Fig. 2 workload : {t2:6.3f} s  ({ncurves} curves: Delta_o + dI/dV with >= {npts} bias points each)")
    print(f"Fig. 3b workload: {t3:6.3f} s  ({len(rows)} critical fields: {len(fig3b['easy_axes'])} easy axes "
          f"x {fig3b['n_phi']} angles)")
    print(f"total           : {t2 + t3:6.3f} s  (target <= 2 s on one core; best of {args.repeat})")


if __name__ == "__main__":
    main()
