"""Heterostructures side by side: ``results/comparison.md``, one row per heterostructure.

Every number is read from the pipeline's own outputs of that heterostructure: its parameters
(``results/heterostructures/<name>/parameters.json``), its structure manifest (strain, atoms) and,
where the model stage runs, its DFT → model hand-off (``model/dft_handoff.json``).  Units are in
the column names; definitions in ``docs/extraction.md`` and ``docs/model.md``.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from isingflow.provenance import atomic_write_text


@dataclass(frozen=True)
class ComparisonRow:
    """One heterostructure's numbers (``None`` where a quantity was not computed)."""

    name: str
    n_atoms: int
    strain_percent: float               # the largest biaxial strain of a layer (signed), %
    lambda_ex_meV: float                # one stacking (the heterostructure's own), Fermi-surface average
    lambda_ex_avg_meV: float            # ⟨λex⟩ over lateral shifts (what an incommensurate interface sees)
    lambda_ex_avg_error_meV: float | None   # its change between the two finest shift grids
    ensemble: str                       # system and method of ⟨λex⟩
    B_T: float                          # field strength of ⟨λex⟩ (convention of the parameters file)
    B_Tc0: float
    B_convention: str
    superconductor_element: str
    m_superconductor_muB: float         # mean |m| of the superconductor's metal atoms (PAW spheres)
    barrier_up_eV: float                # vacuum-aligned global barriers, majority / minority
    barrier_down_eV: float
    barrier_at_K_up_eV: float | None
    barrier_at_K_down_eV: float | None
    vbm_minus_fermi_eV: float           # magnet VBM (higher spin) − superconductor E_F, vacuum-aligned;
                                        # > 0: charge transfer, the barriers do not describe tunnelling
    spin_polarization: dict[str, float]  # WKB spin filter, n magnet layers → P
    t_perp_Gamma_meV: float
    t_perp_K_meV: float
    model: dict[str, dict[str, float]] | None   # hand-off: "zero_field", "par", "perp" → Δo, V_peak, FWHM (Tc0)


def _strain(base: dict) -> float:
    strains = base.get("strain_biaxial_percent_by_layer") or [0.0]
    return float(max(strains, key=abs))


def comparison_row(name: str, params: dict, manifest: dict, handoff: dict | None,
                   superconductor_element: str) -> ComparisonRow:
    """The row of heterostructure ``name`` from its parameters, structure manifest (its ``base``
    variant) and (optional) hand-off."""
    ens = params.get("ensemble") or {}
    base = manifest["variants"]["base"]
    return ComparisonRow(
        name=name, n_atoms=int(base["n_atoms"]), strain_percent=_strain(base),
        lambda_ex_meV=params["lambda_ex_meV"], lambda_ex_avg_meV=params["lambda_ex_avg_meV"],
        lambda_ex_avg_error_meV=params.get("lambda_ex_grid_change_meV"),
        ensemble=f"{ens.get('system', '?')}, {ens.get('method', '?')}",
        B_T=params["B_equiv_T"], B_Tc0=params["B_equiv_Tc_units"], B_convention=params["B_equiv_convention"],
        superconductor_element=superconductor_element, m_superconductor_muB=params["m_Nb_mean_abs_muB"],
        barrier_up_eV=params["barrier_up_eV"], barrier_down_eV=params["barrier_down_eV"],
        barrier_at_K_up_eV=params.get("barrier_at_K_up_eV"), barrier_at_K_down_eV=params.get("barrier_at_K_down_eV"),
        vbm_minus_fermi_eV=max(e["vbm_eV"] for e in params["crbr3_band_edges_vs_vacuum_eV"].values())
        - params["nbse2_fermi_level_vs_vacuum_eV"],
        spin_polarization={str(k): float(v) for k, v in params["spin_polarization"].items()},
        t_perp_Gamma_meV=params["t_perp_Gamma_meV"], t_perp_K_meV=params["t_perp_K_meV"],
        model=None if handoff is None else {k: dict(v) for k, v in handoff["results"].items()})


def rows_from_files(names: Sequence[str], parameters: Sequence[str], manifests: Sequence[str],
                    handoffs: Sequence[str] | None, elements: dict[str, str]) -> list[ComparisonRow]:
    """The rows of ``names`` (file lists in the same order; ``handoffs`` None: no model columns)."""
    def load(path):
        return json.loads(Path(path).read_text())

    hand = [load(h) for h in handoffs] if handoffs else [None] * len(names)
    return [comparison_row(n, load(p), load(m), h, elements[n])
            for n, p, m, h in zip(names, parameters, manifests, hand)]


def _f(x: Any, fmt: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return format(x, fmt)


def _num(x) -> float:
    """A JSON number (null for a peak that does not exist) as a float (nan)."""
    return math.nan if x is None else float(x)


def _change(model: dict | None, direction: str, key: str) -> str:
    """Relative change of ``key`` (Δo or FWHM) in ``direction`` against zero field, in %."""
    if not model:
        return "—"
    ref, val = _num(model["zero_field"][key]), _num(model[direction][key])
    if key == "delta_o" and val == 0:
        return "-100 (normal state)"
    if not (math.isfinite(ref) and math.isfinite(val)) or ref == 0:
        return "—"
    return f"{100 * (val / ref - 1):+.3g}"


def comparison_markdown(rows: Sequence[ComparisonRow], profile: str) -> str:
    """The side-by-side table (and a second one for the model), with a line on each column."""
    layers = sorted({k for r in rows for k in r.spin_polarization}, key=int)
    head = (["heterostructure", "atoms", "strain (%)", "λex (meV)", "⟨λex⟩ ± grid change (meV)", "B (T)",
             "B (Tc0)", "m_sc (µB)", "barrier ↑/↓ (eV)", "barrier at K ↑/↓ (eV)", "VBM − E_F (eV)"]
            + [f"P ({n} layer{'s' if n != '1' else ''})" for n in layers] + ["t⊥(Γ) (meV)", "t⊥(K) (meV)"])
    lines = [f"# Heterostructures side by side (profile `{profile}`)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        err = "" if r.lambda_ex_avg_error_meV is None else f" ± {_f(abs(r.lambda_ex_avg_error_meV))}"
        cells = [r.name, str(r.n_atoms), _f(r.strain_percent, "+.2f"), _f(r.lambda_ex_meV),
                 _f(r.lambda_ex_avg_meV) + err, _f(r.B_T), _f(r.B_Tc0),
                 f"{_f(r.m_superconductor_muB)} ({r.superconductor_element})",
                 f"{_f(r.barrier_up_eV)} / {_f(r.barrier_down_eV)}",
                 f"{_f(r.barrier_at_K_up_eV)} / {_f(r.barrier_at_K_down_eV)}",
                 _f(r.vbm_minus_fermi_eV, "+.2f") + (" ⚠" if r.vbm_minus_fermi_eV > 0 else "")]
        cells += [_f(r.spin_polarization.get(n)) for n in layers] + [_f(r.t_perp_Gamma_meV), _f(r.t_perp_K_meV)]
        lines.append("| " + " | ".join(cells) + " |")
    if any(r.model for r in rows):
        lines += ["", "## The model with each heterostructure's field (DFT → model hand-off)", "",
                  "| heterostructure | B (Tc0) | Δo(0) (Tc0) | Δo change B ∥ c (%) | Δo change B ⊥ c (%) | "
                  "FWHM change B ∥ c (%) | FWHM change B ⊥ c (%) |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            zero = r.model["zero_field"]["delta_o"] if r.model else None
            lines.append(f"| {r.name} | {_f(r.B_Tc0)} | {_f(zero)} | {_change(r.model, 'par', 'delta_o')} | "
                         f"{_change(r.model, 'perp', 'delta_o')} | {_change(r.model, 'par', 'fwhm')} | "
                         f"{_change(r.model, 'perp', 'fwhm')} |")
    conventions = sorted({r.B_convention for r in rows})
    lines += ["", "- λex: Fermi-surface average of the superconductor bands' exchange splitting in the "
              "heterostructure's own stacking; ⟨λex⟩: its average over lateral shifts "
              f"({'; '.join(f'{r.name}: {r.ensemble}' for r in rows)}), ± the change between the two finest "
              "shift grids (no ± where one grid was computed).",
              f"- B: the field strength of ⟨λex⟩ ({', '.join(conventions)}); m_sc: mean |m| of the "
              "superconductor's metal atoms (PAW spheres).",
              "- Barriers: conduction-band minimum of the magnet monolayer minus E_F of the superconductor "
              "monolayer, vacuum-aligned (global and at K); P: WKB spin polarisation of n magnet layers.",
              "- VBM − E_F: the magnet's valence-band maximum against the superconductor's E_F on the vacuum "
              "scale. ⚠ (> 0): the magnet's valence band lies above E_F, so the aligned layers exchange charge "
              "and the conduction-band barriers and the WKB spin filter do not describe tunnelling through an "
              "insulator; the heterostructure's own bands decide (barrier_in_heterostructure_*_eV in its "
              "parameters).",
              "- t⊥: half the bonding–antibonding splitting of the two superconductor layers' bands "
              "(spin-averaged) at Γ and K.",
              "- Model: Δo and the coherence-peak FWHM of dI/dV with the field along c and in the plane, "
              "relative to zero field (docs/model.md).", ""]
    return "\n".join(lines)


def write_comparison(path: str, rows: Sequence[ComparisonRow], profile: str) -> None:
    """Write the markdown table atomically."""
    atomic_write_text(path, comparison_markdown(rows, profile))


def rows_as_dicts(rows: Sequence[ComparisonRow]) -> list[dict]:
    """The rows as plain dicts (JSON)."""
    return [asdict(r) for r in rows]
