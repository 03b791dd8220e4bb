"""Rule entry point: every layer of one binding-curve point alone in that point's cell, E_DFT (GPAW, the
settings of the ensemble variants) and E_D3 (:mod:`isingflow.dft.gpaw.layers`, :mod:`isingflow.dft.dispersion`)."""
import time

from ase.io import read

from isingflow.dft.dispersion import d3_energy_eV
from isingflow.dft.gpaw.layers import counterpoise, cut_layer, isolated_layer_energies
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log.log)
stack = read(smk.input.structure)
start = time.perf_counter()
kwargs = {"dipole_correction": smk.params.dipole_correction, **smk.params.gpaw}
disp = smk.params.dispersion
if smk.params.counterpoise:  # each layer also with the others as ghosts (LCAO): the point's BSSE
    cp = counterpoise(stack, smk.params.dft, float("nan"), txt_prefix=smk.log.gpaw, **kwargs)
    e_dft = {r.layer: r.e_own_basis_eV for r in cp}
    ghost = {r.layer: r.e_stack_basis_eV for r in cp}
else:
    e_dft, ghost = isolated_layer_energies(stack, smk.params.dft, txt_prefix=smk.log.gpaw, **kwargs), {}
layers = [{"layer": i, "formula": cut_layer(stack, i).get_chemical_formula(), "e_dft_eV": e,
           "e_d3_eV": d3_energy_eV(cut_layer(stack, i), disp["method"], disp["damping"])} for i, e in e_dft.items()]
for rec in layers:
    if rec["layer"] in ghost:
        rec["e_dft_ghost_eV"] = ghost[rec["layer"]]
for rec in layers:
    log.info("layer %d (%s): E_DFT = %.6f eV, E_D3 = %.6f eV", rec["layer"], rec["formula"], rec["e_dft_eV"],
             rec["e_d3_eV"])
write_json(smk.output[0], {"layers": layers, "cell_angstrom": stack.cell.tolist(), "dispersion": disp,
                           "wall_time_s": time.perf_counter() - start,
                           "provenance": provenance(inputs=[smk.input.structure], settings={"dft": smk.params.dft})})
