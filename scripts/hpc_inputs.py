"""Rule entry point: complete VASP or Quantum ESPRESSO inputs (SCF, bands, bands+SOC) for one structure."""
from pathlib import Path

from ase.io import read

from isingflow.dft.hpc import hpc_settings, write_hpc_inputs
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
code = smk.wildcards.code
atoms = read(smk.input.structure)
if "initial_magmoms" in atoms.arrays:
    atoms.set_initial_magnetic_moments(atoms.arrays["initial_magmoms"])
common = hpc_settings(code, smk.params.dft, smk.params.code_cfg, smk.params.xc, smk.params.hubbard_u_eV)
steps = write_hpc_inputs(atoms, code, smk.output.folder, common, smk.params.band_path, smk.params.npoints)
for step, files in steps.items():
    log.info("%s %s: %s", code, step, ", ".join(Path(f).name for f in files))
write_json(Path(smk.output.folder) / "inputs.json",
           {"code": code, "files": [str(f) for files in steps.values() for f in files],
            "provenance": provenance(inputs=[smk.input.structure], settings=common)})
