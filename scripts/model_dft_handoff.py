"""Rule entry point: model dI/dV with the field (and optionally Δ_SOC) from the DFT parameters
(:func:`isingflow.model.handoff.dft_handoff`)."""
import json
from pathlib import Path

from isingflow.model.handoff import CSV_FIELDS, dft_handoff
from isingflow.model.stage import write_csv
from isingflow.plots.model_figures import plot_handoff
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(smk.log[0])
inputs = [smk.input.het, smk.input.monolayer]
het, mono = (json.loads(Path(path).read_text()) for path in inputs)
res = dft_handoff(het, mono, smk.params.cfg)
write_csv(smk.output.csv, CSV_FIELDS, res.rows, settings=smk.params.cfg, inputs=inputs)
write_json(smk.output.json, {**res.record, "provenance": provenance(inputs=inputs, settings=smk.params.cfg)})
plot_handoff(res.rows, res.record["results"], res.record["B_Tc0"], res.record["B_T"], smk.output.figure)
