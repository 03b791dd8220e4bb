"""Rule entry point: λex of every lateral shift × distance variant of one stack and the stacking average
⟨λex⟩ over the configured shift grids (:func:`isingflow.extract.stacking_ensemble`).

Writes results/parameters/ensemble/<system>.json (⟨λex⟩ on the finest grid, the average per grid and
distance, the change between the two finest grids, the exponential fit, each variant's λex, weights
and SCF wall time) and a CSV table.
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
                        smk.params.d_eval_angstrom, system=smk.wildcards.system, profile=smk.params.profile,
                        stacking_grids=smk.params.stacking_grids)
ens["provenance"] = provenance(inputs=list(smk.input), settings={"lambda_ex": smk.params.lambda_ex,
                                                                 "stacking_grids": smk.params.stacking_grids})
write_variants_csv(smk.output.csv, ens["variants"])
write_json(smk.output.json, ens)
