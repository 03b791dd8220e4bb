"""R_d of the same vacancy in supercells of growing N: reported only when the cell does not limit it.

One cell can only say that R_d is *not obviously* limited (:func:`isingflow.extract.vacancy.r_d_status`);
the strict test needs two cells: R_d is resolved in the two largest and changes between them by
less than ``rel_tol``.  Otherwise the series reports "limited by the cell" with the numbers that
show it.  Definitions: ``docs/extraction.md`` (section "Se vacancy").
"""
from __future__ import annotations

from typing import Any, Sequence, TypedDict

_ROW_KEYS = ("system", "supercell_N", "supercell_length_angstrom", "r_inscribed_angstrom", "vacancy_moment_muB",
             "vacancy_abs_moment_muB", "R_d_angstrom", "R_d_exp_angstrom", "R_d_status")


class CellSeries(TypedDict):
    """``results/studies/vacancy_cells.json`` (the rule adds ``provenance``)."""

    rows: list[dict[str, Any]]               # one per cell, by N
    R_d_angstrom: float | None               # the largest cell's R_d, when the series resolves it
    R_d_change_rel: float | None             # |R_d(N_max) − R_d(N_prev)| / R_d(N_max)
    rel_tol: float
    status: str


def cell_series(records: Sequence[dict[str, Any]], rel_tol: float) -> CellSeries:
    """The series verdict from the vacancy parameter records of several cells (any order)."""
    rows = sorted(({k: r.get(k) for k in _ROW_KEYS} for r in records), key=lambda r: r["supercell_N"] or 0)
    if len(rows) < 2:
        return CellSeries(rows=rows, R_d_angstrom=None, R_d_change_rel=None, rel_tol=rel_tol,
                          status="limited by the cell: one cell cannot show that R_d is stable as N grows")
    prev, last = rows[-2], rows[-1]
    change = (abs(last["R_d_angstrom"] - prev["R_d_angstrom"]) / last["R_d_angstrom"]
              if last["R_d_angstrom"] else None)
    unresolved = [r for r in (prev, last) if r["R_d_status"] != "resolved"]
    if unresolved:
        status = "limited by the cell: " + "; ".join(f"N = {r['supercell_N']}: {r['R_d_status']}" for r in unresolved)
    elif change is None or change > rel_tol:
        status = (f"limited by the cell: R_d moves from {prev['R_d_angstrom']:.2f} Å (N = {prev['supercell_N']}) to "
                  f"{last['R_d_angstrom']:.2f} Å (N = {last['supercell_N']}), more than {rel_tol:.0%}")
    else:
        status = "resolved"
    return CellSeries(rows=rows, R_d_angstrom=last["R_d_angstrom"] if status == "resolved" else None,
                      R_d_change_rel=change, rel_tol=rel_tol, status=status)


def _num(x, fmt="{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


def cell_series_markdown(series: CellSeries) -> str:
    """The series as a markdown table with its verdict."""
    lines = ["# V_Se: R_d against the supercell size", "",
             "| system | N | L (Å) | r_in (Å) | M (µB) | abs M (µB) | R_d (Å) | ξ (Å) | one-cell status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in series["rows"]:
        lines.append(f"| {r['system']} | {r['supercell_N']} | {_num(r['supercell_length_angstrom'], '{:.1f}')} | "
                     f"{_num(r['r_inscribed_angstrom'], '{:.1f}')} | {_num(r['vacancy_moment_muB'], '{:.3f}')} | "
                     f"{_num(r['vacancy_abs_moment_muB'], '{:.3f}')} | {_num(r['R_d_angstrom'])} | "
                     f"{_num(r['R_d_exp_angstrom'])} | {r['R_d_status']} |")
    verdict = (f"R_d = {series['R_d_angstrom']:.2f} Å (resolved: change {series['R_d_change_rel']:.1%} ≤ "
               f"{series['rel_tol']:.0%} between the two largest cells)" if series["status"] == "resolved"
               else f"R_d not reported: {series['status']}")
    return "\n".join(lines + ["", verdict, ""])
