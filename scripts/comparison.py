"""Rule entry point: results/comparison.md and the comparison figure (:mod:`isingflow.comparison`)."""
from isingflow.comparison import rows_as_dicts, rows_from_files, write_comparison
from isingflow.plots.comparison import plot_comparison
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
rows = rows_from_files(smk.params.names, smk.input.parameters, smk.input.manifests, smk.input.get("handoffs"),
                       smk.params.elements)
write_comparison(smk.output.table, rows, smk.params.profile)
write_json(smk.output.json, {"rows": rows_as_dicts(rows), "provenance": provenance(inputs=list(smk.input))})
plot_comparison(rows, smk.output.figure)
for r in rows:
    log.info("%s: λex %.3g meV, ⟨λex⟩ %.3g meV, B %.3g T", r.name, r.lambda_ex_meV, r.lambda_ex_avg_meV, r.B_T)
