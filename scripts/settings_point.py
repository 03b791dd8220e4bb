"""Rule entry point: one SCF of the settings study (:func:`isingflow.dft.gpaw.run_ground_state`)."""
from ase.io import read

from isingflow.dft.gpaw import run_ground_state
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
atoms = read(smk.input.structure)
summary = run_ground_state(atoms, smk.params.dft, smk.output.gpw, txt=None, xc=smk.params.xc,
                           hubbard_u_eV=smk.params.hubbard_u_eV or None, mesh_bands_path=smk.output.mesh,
                           atom_layers=atoms.arrays["layer"].tolist() if "layer" in atoms.arrays else None)
summary.update(kpts_in_plane=smk.wildcards.k, smearing_eV=smk.params.dft["smearing_eV"],
               hubbard_U_eV=float(smk.wildcards.u),
               provenance=provenance(inputs=[smk.input.structure], settings={"dft": smk.params.dft,
                                                                             "hubbard_u_eV": smk.params.hubbard_u_eV}))
write_json(smk.output.summary, summary)
log.info("%s k=%s σ=%s U=%s: %d iterations, M = %.4f µB", smk.wildcards.system, smk.wildcards.k,
         smk.wildcards.smearing, smk.wildcards.u, summary["scf_iterations"], summary["magmom_total_muB"])
