"""Rule entry point: counterpoise BSSE check of the base stacking at a few distances
(:func:`isingflow.dft.gpaw.layers.counterpoise`, LCAO ghost atoms)."""
import json
from pathlib import Path

from ase.io import read

from isingflow.dft.gpaw.layers import at_interface_distance, counterpoise
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log.log)
manifest = json.loads(Path(smk.input.manifest).read_text())
settings = {**smk.params.dft, "mode": "lcao"}  # the BSSE of the LCAO basis (plane waves have none)
base = read(smk.input.structure)
area = float(abs(base.cell[0, 0] * base.cell[1, 1] - base.cell[0, 1] * base.cell[1, 0]))
rows = []
for d in smk.params.distances:
    atoms = at_interface_distance(base, manifest["variants"]["base"], d, manifest["vacuum_angstrom"])
    res = counterpoise(atoms, settings, d, txt_prefix=f"{smk.log.gpaw}-d{d:g}",
                       dipole_correction=smk.params.dipole_correction, **smk.params.gpaw)
    for r in res:
        log.info("d = %g Å, layer %d: BSSE = %.2f meV", d, r.layer, r.bsse_meV)
    rows.append({"d_angstrom": d, "bsse_total_meV": sum(r.bsse_meV for r in res),
                 "bsse_meV_per_angstrom2": sum(r.bsse_meV for r in res) / area,
                 "layers": [{**r.__dict__, "bsse_meV": r.bsse_meV} for r in res]})
write_json(smk.output[0], {"system": smk.wildcards.system, "area_angstrom2": area, "distances": rows,
                           "settings": settings, "provenance": provenance(inputs=[smk.input.structure],
                                                                          settings={"dft": settings})})
