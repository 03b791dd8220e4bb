"""Fidelity profiles: the monolayer chain (SCF → SOC / no-SOC bands → ΔSOC(K)) timed at one profile,
and the table comparing the profiles."""
from __future__ import annotations

import os
import time
from typing import Any


def monolayer_convergence(material: str, dft: dict[str, Any], band_path: str, xc: str, profile: str,
                          workdir: str | os.PathLike) -> dict[str, Any]:
    """Run the monolayer chain of ``material`` with the ``dft`` settings of ``profile`` in ``workdir``.

    Returns the settings, k-mesh, SCF iterations, wall times (s), ΔSOC(K) (meV) and the work function (eV).
    """
    from isingflow.dft.gpaw import run_band_structure, run_ground_state
    from isingflow.extract import monolayer_soc_parameters
    from isingflow.provenance import provenance
    from isingflow.structures import build_monolayer

    atoms = build_monolayer(material, vacuum_angstrom=dft["vacuum_angstrom"])
    os.makedirs(workdir, exist_ok=True)
    t0 = time.perf_counter()
    gs = run_ground_state(atoms, dft, f"{workdir}/gs.gpw", txt=f"{workdir}/gs.txt", xc=xc)
    t1 = time.perf_counter()
    soc = run_band_structure(f"{workdir}/gs.gpw", band_path, dft["band_path_points"], soc=True, txt=None)
    nosoc = run_band_structure(f"{workdir}/gs.gpw", band_path, dft["band_path_points"], soc=False, txt=None)
    t2 = time.perf_counter()
    params = monolayer_soc_parameters(soc, nosoc)
    return {"profile": profile, "system": material, "settings": dft,
            "kpts_size": gs["kpts_size"], "scf_iterations": gs["scf_iterations"],
            "wall_time_scf_s": t1 - t0, "wall_time_bands_s": t2 - t1,
            "ising_splitting_full_K_meV": params["ising_splitting_full_K_meV"],
            "work_function_eV": gs["work_function_top_eV"],
            "provenance": provenance(settings=dft)}


_HEADER = ("| profile | mode | k-mesh | k-density (1/Å⁻¹) | h (Å) | vacuum (Å) | smearing (eV) | SCF (s) | bands (s) "
           "| ΔSOC(K) full (meV) | change vs reference (meV) |")


def profile_table_markdown(rows: list[dict[str, Any]]) -> str:
    """The profile table (settings, measured cost, change of ΔSOC(K) against the last profile) in Markdown."""
    ref = rows[-1]["ising_splitting_full_K_meV"]
    lines = ["# Fidelity profiles: settings, cost and one reference quantity (NbSe2 monolayer)", "",
             f"Reference: the last profile ({rows[-1]['profile']}). "
             "Measured on this machine by `snakemake convergence`.", "",
             _HEADER, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["settings"]
        lcao = s["mode"] == "lcao"
        mode = f"LCAO {s['basis']}" if lcao else f"PW {s['ecut_eV']} eV"
        cells = [r["profile"], mode, "×".join(map(str, r["kpts_size"])),
                 s["kpt_density_per_inv_angstrom"], s["grid_spacing_angstrom"] if lcao else "—", s["vacuum_angstrom"],
                 s["smearing_eV"], f"{r['wall_time_scf_s']:.1f}", f"{r['wall_time_bands_s']:.1f}",
                 f"{r['ising_splitting_full_K_meV']:.2f}", f"{r['ising_splitting_full_K_meV'] - ref:+.2f}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
