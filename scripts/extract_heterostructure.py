"""Rule entry point: λex, moments, band alignment, spin filter, t⊥(k), hot spots, ⟨λex⟩ → B.

Reads the normalised band files of one variant of the heterostructure (``base``, or ``equilibrium``
with the geometry record of rule geometry_equilibrium_structure), its two-layer reference and the
two monolayers, and ⟨λex⟩ from rule extract_ensemble
(:func:`isingflow.extract.heterostructure_parameters`); writes
results/heterostructures/<heterostructure>/[equilibrium/]parameters.json and Fig. 1b, 1c, 1d and
the hot-spot plot.
"""
import json

from isingflow.extract import HeterostructureInputs, heterostructure_parameters
from isingflow.plots.dft_figures import plot_heterostructure_figures
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
res = heterostructure_parameters(HeterostructureInputs.from_files(dict(smk.input.items())), smk.params.extract,
                                 system=smk.wildcards.het, bilayer=smk.params.bilayer, profile=smk.params.profile)
plot_heterostructure_figures(res, smk.output.fig1b, smk.output.fig1c, smk.output.fig1d, smk.output.hotspots,
                             layers=smk.params.layers, magnet_layer=smk.params.extract["magnet_layers"][0])
geometry = {}
if "geometry" in smk.input.keys():
    with open(smk.input.geometry) as fh:
        geometry = {"geometry": json.load(fh)}
write_json(smk.output.params, {**res.parameters, **geometry,
                               "provenance": provenance(inputs=list(smk.input), settings=smk.params.extract)})
log.info("wrote %s", smk.output.params)
