"""λex of the one-interface bilayer against the DFT settings: k-mesh, smearing and U on the magnet.

Monolayer NbSe2 sits near its Stoner threshold, so the induced splitting moves with the k-mesh
and the smearing in both directions; a λex is a result only beside this table.  Per k-mesh, λex is
extrapolated to zero smearing linearly through the two smallest smearings; the spread is the
range of every value at the densest mesh and the smallest smearing's values over the meshes.
The U bracket gives λex (and the barriers, from the monolayers) at each U at the reference
settings.  Definitions: docs/dft.md (section "Convergence of λex").
"""
from __future__ import annotations

from typing import Any, Sequence, TypedDict


class SettingsPoint(TypedDict):
    kpts_in_plane: int
    smearing_eV: float
    hubbard_U_eV: float
    lambda_ex_meV: float
    m_Nb_mean_abs_muB: float
    scf_iterations: int


class SettingsSeries(TypedDict):
    """``results/studies/settings_study.json`` (the rule adds ``provenance``)."""

    points: list[SettingsPoint]
    extrapolated_by_kpts_meV: dict[str, float | None]    # n → λex(σ → 0) at that mesh
    lambda_ex_extrapolated_meV: float | None             # at the densest mesh
    lambda_ex_spread_meV: float                          # range over the convergence series
    hubbard_bracket: list[dict[str, Any]]                # λex, barriers at each U (reference k, σ)


def _linear_to_zero(sigmas: list[float], values: list[float]) -> float | None:
    if len(sigmas) < 2:
        return None
    (s1, v1), (s2, v2) = sorted(zip(sigmas, values))[:2]
    return v1 - s1 * (v2 - v1) / (s2 - s1)


def settings_series(points: Sequence[SettingsPoint], reference_U_eV: float,
                    barriers_by_U: dict[float, dict[str, float]] | None = None) -> SettingsSeries:
    """The convergence table of λex: extrapolation in σ per mesh, the spread, and the U bracket."""
    base = [p for p in points if p["hubbard_U_eV"] == reference_U_eV]
    meshes = sorted({p["kpts_in_plane"] for p in base})
    if not meshes:
        raise ValueError(f"no convergence point at the reference U = {reference_U_eV} eV")
    extrap = {}
    for n in meshes:
        row = sorted((p for p in base if p["kpts_in_plane"] == n), key=lambda p: p["smearing_eV"])
        extrap[str(n)] = _linear_to_zero([p["smearing_eV"] for p in row], [p["lambda_ex_meV"] for p in row])
    densest = [p["lambda_ex_meV"] for p in base if p["kpts_in_plane"] == meshes[-1]]
    s_min = min(p["smearing_eV"] for p in base)
    finest = [p["lambda_ex_meV"] for p in base if p["smearing_eV"] == s_min]
    spread = max(densest + finest) - min(densest + finest)
    ref = max(meshes), s_min
    bracket = []
    for u in sorted({p["hubbard_U_eV"] for p in points}):
        at = [p for p in points if p["hubbard_U_eV"] == u and (p["kpts_in_plane"], p["smearing_eV"]) == ref]
        if at:
            bracket.append({"hubbard_U_eV": u, "lambda_ex_meV": at[0]["lambda_ex_meV"],
                            "m_Nb_mean_abs_muB": at[0]["m_Nb_mean_abs_muB"],
                            **((barriers_by_U or {}).get(u, {}))})
    return SettingsSeries(points=list(points), extrapolated_by_kpts_meV=extrap,
                          lambda_ex_extrapolated_meV=extrap[str(meshes[-1])], lambda_ex_spread_meV=float(spread),
                          hubbard_bracket=bracket)


def _f(x, fmt="{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


def settings_series_markdown(series: SettingsSeries, system: str) -> str:
    """λex against k-mesh and smearing (rows: meshes, columns: smearings), then the U bracket."""
    pts = series["points"]
    u0 = series["hubbard_bracket"][0]["hubbard_U_eV"] if series["hubbard_bracket"] else 0.0
    sigmas = sorted({p["smearing_eV"] for p in pts}, reverse=True)
    meshes = sorted({p["kpts_in_plane"] for p in pts})
    lines = [f"# λex of {system} against the DFT settings (U = {u0:g} eV)", "",
             "| k-mesh | " + " | ".join(f"σ = {s:g} eV" for s in sigmas) + " | σ → 0 |",
             "|---|" + "---|" * (len(sigmas) + 1)]
    for n in meshes:
        vals = {p["smearing_eV"]: p["lambda_ex_meV"] for p in pts
                if p["kpts_in_plane"] == n and p["hubbard_U_eV"] == u0}
        lines.append(f"| {n}×{n} | " + " | ".join(_f(vals.get(s)) for s in sigmas)
                     + f" | {_f(series['extrapolated_by_kpts_meV'].get(str(n)))} |")
    lines += ["", f"λex (densest mesh, σ → 0) = {_f(series['lambda_ex_extrapolated_meV'])} meV; spread over the "
              f"series {series['lambda_ex_spread_meV']:.2f} meV.", "",
              "| U on the magnet's d shell (eV) | λex (meV) | abs m_Nb (µB) | barrier ↑ (eV) | barrier ↓ (eV) |",
              "|---|---|---|---|---|"]
    for b in series["hubbard_bracket"]:
        lines.append(f"| {b['hubbard_U_eV']:g} | {_f(b['lambda_ex_meV'])} | {_f(b['m_Nb_mean_abs_muB'], '{:.4f}')} | "
                     f"{_f(b.get('barrier_up_eV'))} | {_f(b.get('barrier_down_eV'))} |")
    return "\n".join(lines) + "\n"


def point_from_files(gs_path: str, mesh_path: str, layers: list[int], element: str,
                     lambda_ex: dict[str, Any]) -> SettingsPoint:
    """One bilayer point: λex (Fermi-surface average on its SCF mesh) and m of ``element`` in ``layers``."""
    import numpy as np

    from isingflow.dft import read_bands
    from isingflow.extract.bands import exchange_splitting, layer_moments
    from isingflow.provenance import read_json

    gs, mesh = read_json(gs_path), read_bands(mesh_path)
    m = layer_moments(gs["magmoms_muB"], mesh.symbols, mesh.atom_layers, element, layers)
    return SettingsPoint(kpts_in_plane=int(gs["kpts_in_plane"]), smearing_eV=float(gs["smearing_eV"]),
                         hubbard_U_eV=float(gs["hubbard_U_eV"]),
                         lambda_ex_meV=exchange_splitting(mesh, layers, **lambda_ex).average_meV,
                         m_Nb_mean_abs_muB=float(np.mean(np.abs(m))) if m else 0.0,
                         scf_iterations=int(gs["scf_iterations"]))


def barriers_from_files(sc_gs_path: str, mag_gs_path: str, mag_mesh_path: str) -> dict[str, float]:
    """Vacuum-aligned barriers CBM_σ(magnet) − E_F(superconductor) from the monolayers' SCF meshes."""
    from isingflow.dft import read_bands
    from isingflow.extract.alignment import vacuum_aligned_barriers
    from isingflow.provenance import read_json

    _, _, barriers = vacuum_aligned_barriers(read_json(sc_gs_path), read_json(mag_gs_path), read_bands(mag_mesh_path))
    return {"barrier_up_eV": barriers["up"], "barrier_down_eV": barriers["down"]}


def stoner_markdown(records: Sequence[dict[str, Any]], fit: dict[str, Any], system: str, stoner: dict) -> str:
    """The fixed-spin-moment curve E(M) and its Stoner enhancement as a markdown section."""
    zero = next(r for r in records if r["moment_muB"] == 0)
    lines = [f"## Stoner enhancement of {system} (fixed-spin-moment E(M), {stoner['kpts_in_plane']}² k, "
             f"σ = {stoner['smearing_eV']:g} eV)", "", "| M (µB/cell) | E − E(0) (meV) |", "|---|---|"]
    lines += [f"| {r['moment_muB']:g} | {1000 * (r['energy_eV'] - zero['energy_eV']):.3f} |" for r in records]
    lines += ["", f"N(E_F) = {zero['dos_at_fermi_per_eV']:.3f} states/eV/cell; E = E0 + a M² + b M⁴ with a = "
              f"{fit['a_eV_per_muB2']:.4g} eV/µB²: S = χ/χ_Pauli = {fit['stoner_enhancement']:.3g}, I·N_σ(E_F) = "
              f"{fit['stoner_product']:.3f}"
              + (" (ferromagnetic instability)" if fit["ferromagnetic_instability"] else ""), ""]
    return "\n".join(lines)


def settings_study_from_files(point_gs_files: Sequence[str], stoner_files: Sequence[str], study: dict[str, Any],
                              lambda_ex: dict[str, Any]) -> tuple[SettingsSeries, dict[str, Any], str]:
    """The whole study from its files: ``point_gs_files`` are the ``gs.json`` of every point
    (``…/settings/<system>/<point>/gs.json``, with ``mesh.npz`` beside), ``stoner_files`` the E(M)
    records; ``study`` the ``settings_study`` config section.  Returns the series, the Stoner fit
    (with its points) and the markdown of both."""
    from pathlib import Path

    from isingflow.extract.stoner import stoner_enhancement
    from isingflow.provenance import read_json

    by_system: dict[str, list[Path]] = {}
    for p in point_gs_files:
        by_system.setdefault(Path(p).parent.parent.name, []).append(Path(p).parent)
    points = [point_from_files(f"{d}/gs.json", f"{d}/mesh.npz", study["superconductor_layers"],
                               study["stoner"]["element"], lambda_ex) for d in by_system[study["system"]]]
    sc = by_system[study["monolayer_superconductor"]][0]
    barriers = {float(read_json(f"{d}/gs.json")["hubbard_U_eV"]):
                barriers_from_files(f"{sc}/gs.json", f"{d}/gs.json", f"{d}/mesh.npz")
                for d in by_system[study["monolayer_magnet"]]}
    series = settings_series(points, study["hubbard_U_eV"][0], barriers)
    fsm = [read_json(p) for p in stoner_files]
    zero = next(r for r in fsm if r["moment_muB"] == 0)
    fit = stoner_enhancement([r["moment_muB"] for r in fsm], [r["energy_eV"] for r in fsm], zero["dos_at_fermi_per_eV"])
    text = (settings_series_markdown(series, study["system"]) + "\n"
            + stoner_markdown(fsm, fit, study["monolayer_superconductor"], study["stoner"]))
    return series, {**fit, "points": fsm}, text
