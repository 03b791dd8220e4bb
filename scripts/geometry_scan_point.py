"""Rule entry point: one stacking at an extra interlayer distance (its ensemble variant with the layers
moved rigidly along z, :func:`isingflow.dft.gpaw.layers.at_interface_distance`), GPAW ground state."""
import json
import time
from pathlib import Path

from ase.io import read, write

from isingflow.dft.gpaw import run_ground_state
from isingflow.dft.gpaw.layers import at_interface_distance
from isingflow.provenance import atomic_path, provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log.log)
manifest = json.loads(Path(smk.input.manifest).read_text())
record = manifest["variants"][smk.params.template]
atoms = at_interface_distance(read(smk.input.structure), record, float(smk.wildcards.d), manifest["vacuum_angstrom"])
with atomic_path(smk.output.structure) as tmp:
    write(tmp, atoms, format="extxyz")
log.info("%s at d = %s Å (%d atoms), settings %s", smk.params.template, smk.wildcards.d, len(atoms), smk.params.dft)
start = time.perf_counter()
summary = run_ground_state(atoms, smk.params.dft, smk.output.gpw, txt=smk.log.gpaw, xc=smk.params.gpaw["xc"],
                           hubbard_u_eV=smk.params.gpaw["hubbard_u_eV"],
                           dipole_correction=smk.params.dipole_correction, mesh_bands_path=smk.output.mesh,
                           atom_layers=atoms.arrays["layer"].tolist())
summary["wall_time_s"] = time.perf_counter() - start
summary["d_angstrom"] = float(smk.wildcards.d)
summary["template_variant"] = smk.params.template
summary["provenance"] = provenance(inputs=[smk.input.structure], settings={"dft": smk.params.dft})
write_json(smk.output.summary, summary)
log.info("E = %.6f eV after %d iterations", summary["energy_eV"], summary["scf_iterations"])
