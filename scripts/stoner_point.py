"""Rule entry point: one fixed-spin-moment energy (:func:`isingflow.dft.gpaw.fixed_moment.fixed_moment_energy`)."""
from ase.io import read

from isingflow.dft.gpaw.fixed_moment import fixed_moment_energy
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
out = fixed_moment_energy(read(smk.input.structure), smk.params.dft, float(smk.wildcards.moment),
                          smk.params.element)
out["provenance"] = provenance(inputs=[smk.input.structure], settings=smk.params.dft)
write_json(smk.output[0], out)
log.info("M = %s µB: E = %.6f eV (%d iterations)", smk.wildcards.moment, out["energy_eV"], out["scf_iterations"])
