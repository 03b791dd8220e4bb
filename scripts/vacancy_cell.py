"""Rule entry point: one cell of the vacancy series (:func:`isingflow.extract.vacancy.analyse_gpw`)."""
import json

from isingflow.extract.vacancy import analyse_gpw, load_manifest, vacancy_record
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
res = analyse_gpw(smk.input.gpw, load_manifest(smk.input.manifest), smk.params.vacancy)
with open(smk.input.summary) as fh:
    out = vacancy_record(res, json.load(fh), smk.wildcards.system, smk.params.profile)
out["provenance"] = provenance(inputs=list(smk.input), settings=smk.params.vacancy)
write_json(smk.output[0], out)
log.info("N = %s: M = %.4f µB, R_d = %.2f Å, ξ = %s Å: %s", out["supercell_N"], out["vacancy_moment_muB"],
         out["R_d_angstrom"], out["R_d_exp_angstrom"], out["R_d_status"])
