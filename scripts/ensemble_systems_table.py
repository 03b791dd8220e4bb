"""Rule entry point: ⟨λex⟩ of the heterostructure's ensemble beside that of the cheaper system
(:func:`isingflow.extract.ensemble_systems_report`)."""
import json

from isingflow.extract import ensemble_systems_report
from isingflow.provenance import atomic_write_text
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
ensembles = []
for path in smk.input:
    with open(path) as fh:
        ensembles.append(json.load(fh))
text = ensemble_systems_report(ensembles)
atomic_write_text(smk.output[0], text)
log.info("\n%s", text)
