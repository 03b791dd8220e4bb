"""Rule entry point: the profile table (settings, measured cost, change of ΔSOC(K))."""
import json

from isingflow.provenance import atomic_write_text
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
rows = [json.load(open(p)) for p in smk.input]
ref = rows[-1]["ising_splitting_full_K_meV"]
lines = ["# Fidelity profiles: settings, cost and one reference quantity (NbSe2 monolayer)", "",
         f"Reference: the last profile ({rows[-1]['profile']}). Measured on this machine by `snakemake convergence`.", "",
         "| profile | mode | k-mesh | k-density (1/Å⁻¹) | h (Å) | vacuum (Å) | smearing (eV) | SCF (s) | bands (s) | ΔSOC(K) full (meV) | change vs reference (meV) |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    s = r["settings"]
    mode = f"LCAO {s['basis']}" if s["mode"] == "lcao" else f"PW {s['ecut_eV']} eV"
    lines.append(f"| {r['profile']} | {mode} | {'×'.join(map(str, r['kpts_size']))} | {s['kpt_density_per_inv_angstrom']} | "
                 f"{s['grid_spacing_angstrom'] if s['mode'] == 'lcao' else '—'} | {s['vacuum_angstrom']} | {s['smearing_eV']} | "
                 f"{r['wall_time_scf_s']:.1f} | {r['wall_time_bands_s']:.1f} | {r['ising_splitting_full_K_meV']:.2f} | "
                 f"{r['ising_splitting_full_K_meV'] - ref:+.2f} |")
atomic_write_text(smk.output[0], "\n".join(lines) + "\n")
