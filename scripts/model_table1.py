"""Rule entry point: Table I power-law fits (CSV) and their Markdown rendering."""
from isingflow.model.stage import TABLE1_FIELDS, read_csv, table1_compute, table1_markdown, write_csv
from isingflow.provenance import atomic_write_text
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
fig2, table1 = dict(smk.params.fig2), dict(smk.params.table1)
rows = table1_compute(fig2, table1, read_csv(smk.input.peaks), read_csv(smk.input.order_parameter))
inputs = [smk.input.peaks, smk.input.order_parameter]
write_csv(smk.output.csv, TABLE1_FIELDS, rows, settings={"fig2": fig2, "table1": table1}, inputs=inputs)
atomic_write_text(smk.output.md, table1_markdown(rows, fig2))
for r in rows:
    log.info("%s %s: exponent %.4g prefactor %.4g (law %s)", r["quantity"], r["direction"], r["exponent"],
             r["prefactor"], r["table1_law"])
