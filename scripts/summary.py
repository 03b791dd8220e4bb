"""Rule entry point: results/summary.md (our numbers beside the paper's)."""
from isingflow.runtime import setup_logging
from isingflow.summary import write_summary

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
rows = write_summary(smk.output[0], smk.input.paper_values,
                     {"monolayer": smk.input.monolayer, "heterostructure": smk.input.heterostructure,
                      "vacancy": smk.input.vacancy, "equilibrium": smk.input.get("equilibrium"),
                      "lambda_at_d0": smk.input.get("lambda_at_d0")},
                     smk.input.peaks, smk.params.profile, handoff_json=smk.input.get("handoff"))
for r in rows:
    log.info("%s: ours %s, paper %s", r["key"], r["ours"], r["paper"])
