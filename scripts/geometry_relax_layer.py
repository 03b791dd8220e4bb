"""Rule entry point: the strained layer of the base stack relaxed at fixed cell
(:func:`isingflow.dft.gpaw.relax.relax_layer`); writes the relaxed layer and a summary."""
import json
from pathlib import Path

from ase.io import read, write

from isingflow.dft.gpaw.layers import cut_layer
from isingflow.dft.gpaw.relax import most_strained_layer, relax_layer
from isingflow.provenance import atomic_path, provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log.log)
manifest = json.loads(Path(smk.input.manifest).read_text())
record = manifest["variants"]["base"]
cfg = smk.params.relax
index = cfg["layer"] if cfg["layer"] is not None else most_strained_layer(record)
layer = cut_layer(read(smk.input.structure), index, vacuum_angstrom=manifest["vacuum_angstrom"])
log.info("relaxing layer %d (%s) at fixed cell, fmax %g eV/Å", index, layer.get_chemical_formula(),
         cfg["fmax_eV_per_angstrom"])
res = relax_layer(layer, smk.params.dft, cfg["fmax_eV_per_angstrom"], cfg["steps"], tuple(cfg["bond_elements"]),
                  cfg["with_d3"], txt=smk.log.gpaw, **smk.params.gpaw)
with atomic_path(smk.output.structure) as tmp:
    write(tmp, res.atoms, format="extxyz")
summary = {"layer": index, "material": record["layers"][index]["material"],
           "strain": record["layers"][index]["strain"], **res.summary(),
           "provenance": provenance(inputs=[smk.input.structure], settings={"dft": smk.params.dft, "relax": cfg})}
write_json(smk.output.summary, summary)
log.info("%s bond %.4f → %.4f Å, energy gain %.1f meV, %d steps, converged %s", "–".join(res.bond_elements),
         res.bond_initial_angstrom, res.bond_final_angstrom, res.energy_gain_meV, res.n_steps, res.converged)
