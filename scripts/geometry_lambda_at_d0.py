"""Rule entry point: λex at every binding-curve point (SCF-mesh bands) and the stacking average with
each lateral shift at its own d0 (:func:`isingflow.extract.equilibrium_average.equilibrium_average`)."""
import json
from pathlib import Path

from isingflow.dft import read_bands
from isingflow.extract.bands import exchange_splitting
from isingflow.extract.equilibrium_average import equilibrium_average, stacking_weights
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
binding = json.loads(Path(smk.input.binding).read_text())
weights = stacking_weights(json.loads(Path(smk.input.manifest).read_text()))
samples = []
for point, mesh in zip(smk.params.points, smk.input.mesh):
    lam = exchange_splitting(read_bands(mesh), smk.params.superconductor_layers, **smk.params.lambda_ex).average_meV
    samples.append({**point, "lambda_ex_meV": lam, **weights[point["stacking"]]})
    log.info("%s at %.2f Å: λex = %.3f meV", point["stacking"], point["d_angstrom"], lam)
out = equilibrium_average(binding, samples, smk.params.stacking_grids)
out.update(system=smk.wildcards.system, samples=samples,
           provenance=provenance(inputs=list(smk.input), settings={"lambda_ex": smk.params.lambda_ex}))
write_json(smk.output[0], out)
log.info("⟨λex⟩ at each stacking's d0 = %.3f meV (%s), by grid %s", out["lambda_ex_avg_meV"], out["method"],
         out["by_grid_meV"])
