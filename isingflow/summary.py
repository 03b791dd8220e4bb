"""results/summary.md: every number the pipeline computes beside the paper's value."""
from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from isingflow.provenance import atomic_write_text


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, (int, float)):
        ax = abs(x)
        return f"{x:.3g}" if ax < 1e-2 or ax >= 1e3 else f"{x:.3f}".rstrip("0").rstrip(".")
    return str(x)


def _value(path: str | None, key: str, cache: dict[str, dict]):
    if not path or not Path(path).is_file():
        return None
    if path not in cache:
        cache[path] = json.loads(Path(path).read_text())
    return cache[path].get(key)


def comparison_rows(paper_values: list[dict], parameter_files: dict[str, str | None]) -> list[dict]:
    """One row per paper value: ours (from the parameter files), the paper's, the ratio.

    With an ``"equilibrium"`` file (the heterostructure at its van der Waals equilibrium), the
    heterostructure's rows also get ``ours_equilibrium``.
    """
    cache: dict[str, dict] = {}
    rows = []
    for item in paper_values:
        path = parameter_files.get(item["file"])
        ours = _value(path, item["key"], cache)
        ratio = ours / item["paper"] if isinstance(ours, (int, float)) and item["paper"] else None
        row = {"quantity": item["label"], "key": item["key"], "ours": ours, "paper": item["paper"],
               "ratio": ratio, "source": item["source"], "file": path}
        if parameter_files.get("equilibrium"):
            row["ours_equilibrium"] = (_value(parameter_files["equilibrium"], item["key"], cache)
                                       if item["file"] == "heterostructure" else None)
        rows.append(row)
    return rows


def _table_lines(rows: list[dict]) -> list[str]:
    eq = any("ours_equilibrium" in r for r in rows)
    head = "| quantity | ours | " + ("ours, van der Waals equilibrium | " if eq else "")
    lines = [head + "paper | ours / paper | paper's source | key (file) |",
             "|---|---|" + ("---|" if eq else "") + "---|---|---|---|"]
    for r in rows:
        extra = f"{_fmt(r.get('ours_equilibrium'))} | " if eq else ""
        lines.append(f"| {r['quantity']} | {_fmt(r['ours'])} | {extra}{_fmt(r['paper'])} | {_fmt(r['ratio'])} | "
                     f"{r['source']} | `{r['key']}` ({Path(r['file']).name if r['file'] else '—'}) |")
    return lines


def equilibrium_lines(parameters_json: str, lambda_at_d0_json: str | None = None) -> list[str]:
    """The geometry of the equilibrium column (stacking, d0, E_b) as a markdown paragraph, with the
    stacking average at each stacking's own d0 when ``lambda_at_d0_json`` is given."""
    g = json.loads(Path(parameters_json).read_text()).get("geometry") or {}
    if not g:
        return []
    at_d0 = ""
    if lambda_at_d0_json and Path(lambda_at_d0_json).is_file():
        a = json.loads(Path(lambda_at_d0_json).read_text())
        grid = ", ".join(f"n = {n}: {_fmt(v)}" for n, v in a["by_grid_meV"].items())
        at_d0 = (f" With every lateral shift at the d0 of its own binding curve instead, ⟨λex⟩ = "
                 f"{_fmt(a['lambda_ex_avg_meV'])} meV ({grid or a['method']}; "
                 f"{Path(lambda_at_d0_json).name}).")
    corr = "counterpoise-corrected " if g.get("counterpoise_corrected") else "uncorrected (LCAO BSSE included) "
    per = ", ".join(f"{k} {_fmt(v)}" for k, v in g.get("stackings_e_b0_meV_per_angstrom2", {}).items())
    return ["", f"The van der Waals equilibrium column: the lowest-energy stacking {g['stacking']} of the "
            f"one-interface bilayer's PBE+D3(BJ) binding curves ({corr}E_b(d0) per stacking, meV/Å²: {per}), every "
            f"superconductor/magnet interface at its d0 = {_fmt(g['d0_angstrom'])} Å (configured: "
            f"{', '.join(_fmt(x) for x in g['base_distances_angstrom'])} Å). ⟨λex⟩ and B are the stacking "
            "average at the configured distance in both columns (docs/geometry.md)." + at_d0]


def bound_lines(handoff: dict, paper_lambda_avg_meV: float | None) -> list[str]:
    """The experimental bound of the hand-off (``superconductivity_bound``) as a markdown section."""
    b = handoff["superconductivity_bound"]
    lines = ["", "## Experimental bound: do the junctions superconduct with this field along c?", "",
             f"The tunnel junctions of the experiments superconduct, so the field of λex along c must leave "
             f"Δo > 0: at T = {b['T']:g} Tc0 the gap equation has a superconducting solution up to "
             f"B∥c = {_fmt(b['B_par_max_Tc0'])} Tc0, i.e. λex ≤ {_fmt(b['lambda_ex_max_meV'])} meV "
             f"(convention {handoff['B_convention']}).", "",
             "| λex choice | λex (meV) | B (Tc0) | compatible with superconductivity (B ∥ c) |", "|---|---|---|---|"]
    for c in b["choices"]:
        lines.append(f"| {c['choice']} | {_fmt(c['lambda_ex_meV'])} | {_fmt(c['B_Tc0'])} | "
                     f"{'yes' if c['superconducts'] else 'no'} |")
    if paper_lambda_avg_meV is not None:
        ok = abs(paper_lambda_avg_meV) < b["lambda_ex_max_meV"]
        lines.append(f"| the paper's ⟨λex⟩ | {_fmt(paper_lambda_avg_meV)} | — | {'yes' if ok else 'no'} |")
    return lines


def write_summary(path: str, paper_values_file: str, parameter_files: dict[str, str],
                  model_peaks_csv: str | None, profile: str, extra_notes: list[str] | None = None,
                  handoff_json: str | None = None) -> list[dict]:
    """Write the markdown table (with the hand-off's experimental bound when ``handoff_json`` is
    given) and return its rows."""
    with open(paper_values_file) as fh:
        paper = yaml.safe_load(fh)
    rows = comparison_rows(paper, parameter_files)
    lines = [f"# Our numbers beside the paper's (profile `{profile}`)", ""] + _table_lines(rows)
    if parameter_files.get("equilibrium"):
        lines += equilibrium_lines(parameter_files["equilibrium"], parameter_files.get("lambda_at_d0"))
    if model_peaks_csv and Path(model_peaks_csv).is_file():
        import csv

        with open(model_peaks_csv) as fh:
            peaks = list(csv.DictReader(fh))
        lines += ["", "## Model (Fig. 2c): order parameter and coherence peak vs field",
                  "", "| direction | B (Tc0) | Δo (Tc0) | V_peak (Tc0) | FWHM (Tc0) |", "|---|---|---|---|---|"]
        for p in peaks:
            lines.append(f"| {p.get('direction')} | {p.get('B')} | {_fmt(float(p.get('delta_o', 'nan')))} | "
                         f"{_fmt(float(p.get('V_peak', 'nan')))} | {_fmt(float(p.get('fwhm', 'nan')))} |")
    if handoff_json and Path(handoff_json).is_file():
        paper_avg = next((p["paper"] for p in paper if p["key"] == "lambda_ex_avg_meV"), None)
        lines += bound_lines(json.loads(Path(handoff_json).read_text()), paper_avg)
    lines += ["", "Ratios far from 1 are discussed in the README (section 'Numbers').", ""]
    for note in extra_notes or []:
        lines.append(f"- {note}")
    atomic_write_text(path, "\n".join(lines) + "\n")
    return rows
