"""Rule entry point: non-self-consistent band structure (soc / nosoc / unfolded) from a .gpw."""
from ase.io import read

from isingflow.dft import write_bands
from isingflow.dft.gpaw import run_band_structure, unfold_setup
from isingflow.provenance import provenance
from isingflow.runtime import mpi_relaunch, setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log.log)
mpi_relaunch(smk)  # resources mpi + tasks (Slurm profile): rerun this script on that many ranks
kind = smk.wildcards.kind
structure = read(smk.input.structure)
layers = structure.arrays["layer"].tolist() if "layer" in structure.arrays else None
unfold = {}
if kind == "unfolded":
    unfold = unfold_setup(smk.input.manifest, smk.params.manifest_variant, smk.params.unfold_material, layers)
    log.info("unfolding onto the primitive %s zone: supercell matrix %s, %d atoms", smk.params.unfold_material,
             unfold["supercell_matrix"].tolist(), len(unfold["unfold_atoms"]))
bands = run_band_structure(smk.input.gpw, path=smk.params.path, npoints=smk.params.npoints,
                           soc=(kind == "soc"), txt=smk.log.gpaw, atom_layers=layers, **unfold)
bands.provenance = provenance(inputs=[smk.input.gpw, smk.input.structure],
                              settings={"path": smk.params.path, "npoints": smk.params.npoints, "kind": kind})
write_bands(smk.output.bands, bands)
log.info("bands: %d k-points x %d bands, kind=%s, E_F = %.4f eV", bands.nkpts, bands.nbands, kind,
         bands.fermi_level)
