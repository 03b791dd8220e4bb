"""Rule entry point: the profile table (settings, measured cost, change of ΔSOC(K))."""
import json

from isingflow.dft.convergence import profile_table_markdown
from isingflow.provenance import atomic_write_text
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
rows = [json.load(open(p)) for p in smk.input]
atomic_write_text(smk.output[0], profile_table_markdown(rows))
