"""Rule entry point: GPAW self-consistent ground state of one structure variant."""
import time

from ase.io import read

from isingflow.dft.gpaw import run_ground_state
from isingflow.provenance import provenance, read_json, write_json
from isingflow.runtime import mpi_relaunch, setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log.log)
mpi_relaunch(smk)  # resources mpi + tasks (Slurm profile): rerun this script on that many ranks
atoms = read(smk.input.structure)
log.info("ground state of %s (%d atoms), settings %s", smk.input.structure, len(atoms), smk.params.dft)
# a converged neighbouring registry to start from: its .gpw and the GPAW parameters it used
restart_from = ((smk.input.restart[0], read_json(smk.input.restart[1])["gpaw_parameters"])
                if smk.input.restart else None)
start = time.perf_counter()
summary = run_ground_state(atoms, smk.params.dft, smk.output.gpw, txt=smk.log.gpaw, xc=smk.params.xc,
                           hubbard_u_eV=smk.params.hubbard_u_eV or None,
                           dipole_correction=smk.params.dipole_correction,
                           cache_dir=smk.params.cache_dir, mesh_bands_path=smk.output.mesh,
                           atom_layers=atoms.arrays["layer"].tolist() if "layer" in atoms.arrays else None,
                           restart_from=restart_from)
summary["wall_time_s"] = time.perf_counter() - start  # of this job (0-iteration reuse: restart read)
summary["provenance"] = provenance(inputs=[smk.input.structure, *smk.input.restart],
                                   settings={"dft": smk.params.dft, "xc": smk.params.xc})
write_json(smk.output.summary, summary)
log.info("converged in %d iterations, E = %.6f eV, E_F = %.4f eV", summary["scf_iterations"],
         summary["energy_eV"], summary["fermi_level_eV"])
