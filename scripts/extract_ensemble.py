"""Rule entry point: λex of every lateral shift × distance variant of one stack and ⟨λex⟩ with its error
(:func:`isingflow.extract.stacking_ensemble`).

Writes results/parameters/ensemble/<system>.json (the average, the registry averages and standard
errors per distance, the exponential fit, each variant's λex and SCF wall time) and a CSV table.
"""
import json
from pathlib import Path

from isingflow.dft import read_bands
from isingflow.extract import stacking_ensemble
from isingflow.extract.ensemble import write_variants_csv
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(smk.log[0])
manifest = json.loads(Path(smk.input.manifest).read_text())
variants = [(name, read_bands(mesh), json.loads(Path(gs).read_text()))
            for name, mesh, gs in zip(smk.params.variants, smk.input.mesh, smk.input.gs)]
ens = stacking_ensemble(variants, manifest, smk.params.superconductor_layers, smk.params.lambda_ex,
                        smk.params.d_eval_angstrom, system=smk.wildcards.system, profile=smk.params.profile)
ens["provenance"] = provenance(inputs=list(smk.input), settings={"lambda_ex": smk.params.lambda_ex})
write_variants_csv(smk.output.csv, ens["variants"])
write_json(smk.output.json, ens)
