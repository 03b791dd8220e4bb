"""Rule entry point: ⟨λex⟩ of the heterostructure's ensemble beside that of the cheaper system."""
import json

from isingflow import extract as ex
from isingflow.provenance import atomic_write_text
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
ensembles = []
for path in smk.input:
    with open(path) as fh:
        ensembles.append(json.load(fh))
profiles = sorted({e["profile"] for e in ensembles})
text = ("# ⟨λex⟩ from the heterostructure's ensemble and from extract.ensemble.system\n\n"
        f"Profile {', '.join(profiles)}; produced by `snakemake ensemble_systems` (rule extract_ensemble per system). "
        "DFT wall time: the sum of the ensemble's ground-state jobs. The first row is the reference; "
        "'within' means the difference is below the reference's standard error over registries.\n\n"
        + ex.ensemble_table_markdown(ensembles))
atomic_write_text(smk.output[0], text)
log.info("\n%s", text)
