"""Rule entry point: R_d against the supercell size (:func:`isingflow.extract.vacancy_cells.cell_series`)."""
from isingflow.extract.vacancy_cells import cell_series, cell_series_markdown
from isingflow.provenance import atomic_write_text, provenance, read_json, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
series = cell_series([read_json(p) for p in smk.input], smk.params.rel_tol)
write_json(smk.output.json, {**series, "provenance": provenance(inputs=list(smk.input),
                                                                settings={"rel_tol": smk.params.rel_tol})})
atomic_write_text(smk.output.table, cell_series_markdown(series))
log.info("vacancy cell series: %s", series["status"])
