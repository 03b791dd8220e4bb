"""Rule entry point: non-self-consistent band structure (soc / nosoc / unfolded) from a .gpw."""
import json

import numpy as np
from ase.io import read

from isingflow.dft.bandfile import write_bands
from isingflow.dft.gpaw_engine import run_band_structure
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
    with open(smk.input.manifest) as fh:
        variant = json.load(fh)["variants"][smk.wildcards.variant]
    material = smk.params.unfold_material
    chosen = [layer for layer in variant["layers"] if layer["material"] == material]
    if not chosen or layers is None:
        raise ValueError(f"{smk.input.manifest}: no {material} layer to unfold onto "
                         f"(config key 'dft.unfold_material')")
    m2 = np.array(chosen[0]["supercell_matrix"], dtype=int)
    matrix = np.eye(3, dtype=int)
    matrix[:2, :2] = m2
    wanted = {layer["index"] for layer in chosen}
    unfold = {"supercell_matrix": matrix, "unfold_atoms": [i for i, lay in enumerate(layers) if lay in wanted]}
    log.info("unfolding onto the primitive %s zone: supercell matrix %s, %d atoms",
             material, matrix.tolist(), len(unfold["unfold_atoms"]))
bands = run_band_structure(smk.input.gpw, path=smk.params.path, npoints=smk.params.npoints,
                           soc=(kind == "soc"), txt=smk.log.gpaw, atom_layers=layers, **unfold)
bands.provenance = provenance(inputs=[smk.input.gpw, smk.input.structure],
                              settings={"path": smk.params.path, "npoints": smk.params.npoints, "kind": kind})
write_bands(smk.output.bands, bands)
log.info("bands: %d k-points x %d bands, kind=%s, E_F = %.4f eV", bands.nkpts, bands.nbands, kind,
         bands.fermi_level)
