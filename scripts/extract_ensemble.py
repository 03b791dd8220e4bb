"""Rule entry point: λex of every registry × distance variant of one stack and ⟨λex⟩ with its error.

Writes results/parameters/ensemble/<system>.json (the average, the registry averages and standard
errors per distance, the exponential fit, each variant's λex and SCF wall time) and a CSV table.
"""
import csv
import json

from isingflow import extract as ex
from isingflow.dft import read_bands
from isingflow.provenance import atomic_path, provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
with open(smk.input.manifest) as fh:
    manifest = json.load(fh)
lam_cfg = smk.params.lambda_ex
layers = smk.params.superconductor_layers
rows = []
for variant, mesh_path, gs_path in zip(smk.params.variants, smk.input.mesh, smk.input.gs):
    with open(gs_path) as fh:
        gs = json.load(fh)
    info = manifest["variants"][variant]
    lam = ex.exchange_splitting(read_bands(mesh_path), layers, **lam_cfg).average_meV
    rows.append({"variant": variant, "d_angstrom": float(info["distances_angstrom"][0]),
                 "registry": info.get("registry", {}).get("frac"),
                 "weight": float(info.get("registry", {}).get("weight", 1.0)),
                 "lambda_ex_meV": lam, "scf_iterations": gs["scf_iterations"],
                 "wall_time_s": gs.get("wall_time_s")})
    log.info("%s: λex = %.3f meV", variant, lam)
ens = ex.ensemble_average(rows, smk.params.d_eval_angstrom)
if smk.params.variants == ["base"]:
    ens["method"] = "no registry ensemble in this profile: λex of the base variant only"
ens.update({"system": smk.wildcards.system, "profile": smk.params.profile, "superconductor_layers": layers,
            "variants": rows, "dft_wall_time_s": sum(r["wall_time_s"] or 0.0 for r in rows),
            "provenance": provenance(inputs=list(smk.input), settings={"lambda_ex": lam_cfg})})
log.info("⟨λex⟩ = %.3f ± %.3f meV (%s)", ens["lambda_ex_avg_meV"], ens["lambda_ex_avg_err_meV"], ens["method"])
with atomic_path(smk.output.csv) as tmp, open(tmp, "w", newline="") as fh:
    wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
    wr.writeheader()
    wr.writerows(rows)
write_json(smk.output.json, ens)
