"""Rule entry point: the settings-study tables (:mod:`isingflow.extract.settings_series`,
:func:`isingflow.extract.stoner.stoner_enhancement`)."""
from pathlib import Path

from isingflow.extract.settings_series import (
    barriers_from_files,
    point_from_files,
    settings_series,
    settings_series_markdown,
)
from isingflow.extract.stoner import stoner_enhancement
from isingflow.provenance import atomic_write_text, provenance, read_json, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
study = smk.params.study
folder = {Path(p).parent.parent.name: [] for p in smk.input.points}
for p in smk.input.points:
    folder[Path(p).parent.parent.name].append(Path(p).parent)
points = [point_from_files(f"{d}/gs.json", f"{d}/mesh.npz", study["superconductor_layers"], study["stoner"]["element"],
                           smk.params.lambda_ex) for d in folder[study["system"]]]
sc = folder[study["monolayer_superconductor"]][0]
barriers = {float(read_json(f"{d}/gs.json")["hubbard_U_eV"]): barriers_from_files(f"{sc}/gs.json", f"{d}/gs.json",
                                                                                    f"{d}/mesh.npz")
            for d in folder[study["monolayer_magnet"]]}
series = settings_series(points, study["hubbard_U_eV"][0], barriers)
fsm = [read_json(p) for p in smk.input.stoner]
zero = next(r for r in fsm if r["moment_muB"] == 0)
stoner = stoner_enhancement([r["moment_muB"] for r in fsm], [r["energy_eV"] for r in fsm], zero["dos_at_fermi_per_eV"])
text = settings_series_markdown(series, study["system"]) + "\n" + "\n".join([
    f"## Stoner enhancement of {study['monolayer_superconductor']} (fixed-spin-moment E(M), "
    f"{study['stoner']['kpts_in_plane']}² k, σ = {study['stoner']['smearing_eV']:g} eV)", "",
    "| M (µB/cell) | E − E(0) (meV) |", "|---|---|",
    *[f"| {r['moment_muB']:g} | {1000 * (r['energy_eV'] - zero['energy_eV']):.3f} |" for r in fsm], "",
    f"N(E_F) = {zero['dos_at_fermi_per_eV']:.3f} states/eV/cell; E = E0 + a M² + b M⁴ with a = "
    f"{stoner['a_eV_per_muB2']:.4g} eV/µB²: S = χ/χ_Pauli = {stoner['stoner_enhancement']:.3g}, I·N_σ(E_F) = "
    f"{stoner['stoner_product']:.3f}" + (" (ferromagnetic instability)" if stoner["ferromagnetic_instability"] else ""),
    ""])
atomic_write_text(smk.output.table, text)
write_json(smk.output.json, {**series, "stoner": {**stoner, "points": fsm},
                             "provenance": provenance(inputs=list(smk.input), settings=study)})
log.info("λex(σ→0) = %s meV, spread %.2f meV; Stoner S = %.3g", series["lambda_ex_extrapolated_meV"],
         series["lambda_ex_spread_meV"], stoner["stoner_enhancement"])
