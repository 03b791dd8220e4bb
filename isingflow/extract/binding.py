"""Interlayer binding curves: E_b(d) per stacking, the equilibrium distance d₀ and E_b(d₀).

E_b(d) = E_stack(d) − Σ_layers E_layer, with E = E_DFT + E_D3 (PBE + D3(BJ)); negative when the
layers bind.  It is reported per Å² of interface (the total divided by the number of interfaces
and the in-plane cell area) and per formula unit of the magnet (the total divided by the number of
its formula units in the cell).  Definitions and conventions: ``docs/geometry.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


class BindingFitError(ValueError):
    """The binding curve has no interior minimum, or too few points for a fit."""


@dataclass(frozen=True)
class LayerReference:
    """Energies of the isolated layers (same cell and settings as the stack), eV."""

    e_dft_eV: tuple[float, ...]
    e_d3_eV: tuple[float, ...]

    @property
    def total_eV(self) -> float:
        return float(sum(self.e_dft_eV) + sum(self.e_d3_eV))

    @property
    def dft_eV(self) -> float:
        return float(sum(self.e_dft_eV))


@dataclass(frozen=True)
class BindingPoint:
    """One stack calculation: distance (Å), DFT and D3 total energies (eV).

    ``reference``: the isolated layers computed in this point's own cell (same grid); when None,
    the curve's common reference is used.  ``bsse_eV``: the point's counterpoise BSSE
    (Σ_layers E(own basis) − E(with ghosts), ≥ 0), when computed.
    """

    d_angstrom: float
    e_dft_eV: float
    e_d3_eV: float
    variant: str = ""
    reference: LayerReference | None = None
    bsse_eV: float | None = None


@dataclass(frozen=True)
class Normalisation:
    """What E_b is divided by: interfaces, in-plane area (Å²) and the magnet's formula units."""

    n_interfaces: int
    area_angstrom2: float
    n_formula_units: float

    def per_area(self, e_meV: np.ndarray | float) -> np.ndarray | float:
        return e_meV / (self.n_interfaces * self.area_angstrom2)

    def per_formula_unit(self, e_meV: np.ndarray | float) -> np.ndarray | float:
        return e_meV / self.n_formula_units


@dataclass(frozen=True)
class BindingMinimum:
    """Equilibrium of a binding curve (energy in the unit of the fitted curve)."""

    d0_angstrom: float
    e_min: float
    method: str          # "morse" (≥ 4 points) or "parabola" (the lowest point and its neighbours)
    n_points: int


@dataclass
class BindingCurve:
    """E_b(d) of one stacking, in meV per Å² of interface and meV per magnet formula unit."""

    stacking: str
    registry_frac: list[float] | None
    d_angstrom: np.ndarray
    e_b_meV_per_angstrom2: np.ndarray
    e_b_meV_per_formula_unit: np.ndarray
    e_b_pbe_only_meV_per_angstrom2: np.ndarray
    variants: list[str] = field(default_factory=list)
    d0_angstrom: float | None = None
    e_b0_meV_per_angstrom2: float | None = None
    e_b0_meV_per_formula_unit: float | None = None
    fit_method: str | None = None
    e_b_cp_meV_per_angstrom2: np.ndarray | None = None   # counterpoise-corrected, E_b + BSSE
    d0_cp_angstrom: float | None = None
    e_b0_cp_meV_per_angstrom2: float | None = None
    cp_fit_error: str | None = None

    def as_dict(self) -> dict:
        """JSON-ready record (arrays as lists)."""
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        return out


def _morse(d, e_inf, depth, alpha, d0):
    return e_inf + depth * ((1.0 - np.exp(-alpha * (d - d0))) ** 2 - 1.0)


def _parabola_minimum(d: np.ndarray, e: np.ndarray, i: int) -> tuple[float, float, float]:
    """(d₀, E(d₀), curvature) of the parabola through points i − 1, i, i + 1."""
    c2, c1, c0 = np.polyfit(d[i - 1:i + 2], e[i - 1:i + 2], 2)
    if c2 <= 0:
        raise BindingFitError("the three lowest points are not convex: no minimum")
    d0 = -c1 / (2.0 * c2)
    return float(d0), float(c0 + c1 * d0 + c2 * d0 * d0), float(2.0 * c2)


def fit_binding_minimum(d_angstrom: Sequence[float], energy: Sequence[float]) -> BindingMinimum:
    """d₀ and E(d₀) of a binding curve whose minimum lies inside the sampled range.

    With four or more points a Morse curve E∞ + D[(1 − e^{−α(d − d₀)})² − 1] is fitted (least
    squares, started from the local parabola); with three, or when the Morse fit fails or puts
    d₀ outside the range, the parabola through the lowest point and its two neighbours is used.

    Parameters
    ----------
    d_angstrom
        Distances (Å), any order, distinct.
    energy
        Energies at those distances (any unit; the result is in the same unit).

    Returns
    -------
    BindingMinimum

    Raises
    ------
    BindingFitError
        Fewer than three points, or the lowest point at either end of the range ("minimum not
        bracketed: extend distance range").
    """
    d, e = np.asarray(d_angstrom, float), np.asarray(energy, float)
    order = np.argsort(d)
    d, e = d[order], e[order]
    if len(d) < 3 or len(np.unique(d)) != len(d):
        raise BindingFitError(f"a binding curve needs at least three distinct distances, got {d.tolist()}")
    i = int(np.argmin(e))
    if i in (0, len(d) - 1):
        end = "lower" if i == 0 else "upper"
        raise BindingFitError(f"minimum not bracketed: extend distance range (the lowest energy is at the "
                              f"{end} end, d = {d[i]:g} Å, of {d.min():g}–{d.max():g} Å)")
    d0, e0, curv = _parabola_minimum(d, e, i)
    if len(d) >= 4:
        morse = _morse_fit(d, e, d0, e0, curv)
        if morse is not None:
            return BindingMinimum(morse[0], morse[1], "morse", len(d))
    return BindingMinimum(d0, e0, "parabola", len(d))


def _morse_fit(d, e, d0, e0, curv) -> tuple[float, float] | None:
    """(d₀, E_min) of the Morse fit, or None when it fails or leaves the sampled range."""
    import warnings

    from scipy.optimize import OptimizeWarning, curve_fit

    e_inf = float(e[-1]) if e[-1] > e0 else e0 + abs(e0)
    depth = max(e_inf - e0, 1e-12)
    alpha = float(np.sqrt(curv / (2.0 * depth)))
    try:
        with warnings.catch_warnings():  # an exact curve has no covariance estimate: irrelevant here
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, _ = curve_fit(_morse, d, e, p0=[e_inf, depth, alpha, d0], maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    e_inf, depth, alpha, d_min = (float(x) for x in popt)
    if not (d[0] < d_min < d[-1]) or depth <= 0 or alpha <= 0:
        return None
    return d_min, e_inf - depth


def binding_curve(stacking: str, points: Sequence[BindingPoint], layers: LayerReference | None, norm: Normalisation,
                  registry_frac: Sequence[float] | None = None) -> BindingCurve:
    """E_b(d) of one stacking and its equilibrium (:func:`fit_binding_minimum` on meV/Å²).

    Parameters
    ----------
    stacking
        Label of the lateral shift.
    points
        The stack's calculations at several distances.
    layers
        The isolated layers' energies (the zero of E_b), for the points without their own
        ``reference`` (None: every point must have one).
    norm
        Interfaces, area and formula units (see :class:`Normalisation`).
    registry_frac
        The lateral shift (fractions of the shift cell), recorded.

    Returns
    -------
    BindingCurve

    Raises
    ------
    BindingFitError
        See :func:`fit_binding_minimum`.
    """
    pts = sorted(points, key=lambda p: p.d_angstrom)
    d = np.array([p.d_angstrom for p in pts])
    refs = [p.reference or layers for p in pts]
    if any(r is None for r in refs):
        raise BindingFitError(f"stacking {stacking}: a point has no isolated-layer reference")
    total_meV = 1e3 * np.array([p.e_dft_eV + p.e_d3_eV - r.total_eV for p, r in zip(pts, refs)])
    pbe_meV = 1e3 * np.array([p.e_dft_eV - r.dft_eV for p, r in zip(pts, refs)])
    curve = BindingCurve(stacking, list(registry_frac) if registry_frac is not None else None, d,
                         norm.per_area(total_meV), norm.per_formula_unit(total_meV), norm.per_area(pbe_meV),
                         [p.variant for p in pts])
    minimum = fit_binding_minimum(d, curve.e_b_meV_per_angstrom2)
    curve.d0_angstrom = minimum.d0_angstrom
    curve.e_b0_meV_per_angstrom2 = minimum.e_min
    curve.e_b0_meV_per_formula_unit = minimum.e_min * norm.n_interfaces * norm.area_angstrom2 / norm.n_formula_units
    curve.fit_method = minimum.method
    if all(p.bsse_eV is not None for p in pts):
        _counterpoise_minimum(curve, norm.per_area(total_meV + 1e3 * np.array([p.bsse_eV for p in pts])))
    return curve


def _counterpoise_minimum(curve: BindingCurve, e_cp_meV_per_angstrom2: np.ndarray) -> None:
    """Add the counterpoise-corrected curve and its minimum (or why it has none) to ``curve``."""
    curve.e_b_cp_meV_per_angstrom2 = e_cp_meV_per_angstrom2
    try:
        cp = fit_binding_minimum(curve.d_angstrom, e_cp_meV_per_angstrom2)
    except BindingFitError as exc:
        curve.cp_fit_error = str(exc)
        return
    curve.d0_cp_angstrom, curve.e_b0_cp_meV_per_angstrom2 = cp.d0_angstrom, cp.e_min


def lowest_stacking(curves: Sequence[BindingCurve]) -> BindingCurve:
    """The stacking with the lowest E_b(d₀) (the most strongly bound)."""
    if not curves:
        raise BindingFitError("no binding curve")
    return min(curves, key=lambda c: c.e_b0_meV_per_angstrom2)


def stack_normalisation(atoms, n_interfaces: int, formula_unit_element: str) -> Normalisation:
    """:class:`Normalisation` of a stack: its in-plane cell area and the atoms of ``formula_unit_element``."""
    cell = np.array(atoms.cell)
    area = float(np.linalg.norm(np.cross(cell[0], cell[1])))
    n_fu = sum(1 for s in atoms.get_chemical_symbols() if s == formula_unit_element)
    if n_fu == 0:
        raise BindingFitError(f"formula_unit_element {formula_unit_element!r} is not in the stack")
    return Normalisation(int(n_interfaces), area, float(n_fu))


def system_binding(points: Sequence[dict], layers: LayerReference | None, norm: Normalisation) -> dict:
    """Binding curves of every stacking of a system and the lowest-energy stacking.

    Parameters
    ----------
    points
        One dict per stack calculation: ``stacking`` (label), ``registry_frac``, ``d_angstrom``,
        ``e_dft_eV``, ``e_d3_eV``, ``variant`` and optionally ``layers_e_dft_eV``, ``layers_e_d3_eV``
        (its own isolated layers, one energy per layer).
    layers, norm
        See :func:`binding_curve`.

    Returns
    -------
    dict
        ``curves`` (one :meth:`BindingCurve.as_dict` per stacking), ``lowest_stacking``, its
        ``d0_angstrom`` and ``e_b0_meV_per_angstrom2``, and the normalisation.

    Raises
    ------
    BindingFitError
        A stacking's minimum is not bracketed (the message names the stacking).
    """
    by_stacking: dict[str, list[dict]] = {}
    for p in points:
        by_stacking.setdefault(p["stacking"], []).append(p)
    curves = []
    for name, pts in by_stacking.items():
        bps = [BindingPoint(float(p["d_angstrom"]), float(p["e_dft_eV"]), float(p["e_d3_eV"]), p.get("variant", ""),
                            _own_reference(p), p.get("bsse_eV")) for p in pts]
        try:
            curves.append(binding_curve(name, bps, layers, norm, pts[0].get("registry_frac")))
        except BindingFitError as exc:
            raise BindingFitError(f"stacking {name}: {exc}") from None
    best = lowest_stacking(curves)
    return {"curves": [c.as_dict() for c in curves], "lowest_stacking": best.stacking,
            "d0_angstrom": best.d0_angstrom, "e_b0_meV_per_angstrom2": best.e_b0_meV_per_angstrom2,
            "e_b0_meV_per_formula_unit": best.e_b0_meV_per_formula_unit,
            "normalisation": dict(norm.__dict__),
            "layer_reference": None if layers is None else {"e_dft_eV": list(layers.e_dft_eV),
                                                            "e_d3_eV": list(layers.e_d3_eV)}}


def _own_reference(point: dict) -> LayerReference | None:
    if "layers_e_dft_eV" not in point:
        return None
    return LayerReference(tuple(point["layers_e_dft_eV"]), tuple(point["layers_e_d3_eV"]))


def binding_from_files(points: Sequence[dict], manifest_json: str, dispersion: dict,
                       formula_unit_element: str) -> dict:
    """:func:`system_binding` from the pipeline's files: the stacks' D3 energies are computed here.

    Parameters
    ----------
    points
        One dict per stack calculation: ``stacking``, ``registry_frac``, ``d_angstrom``, ``variant``,
        ``gs`` (a ``gs.json`` with ``energy_eV``), ``structure`` (its extxyz) and ``layers`` (a JSON
        file of its isolated layers in its own cell: ``layers`` with ``e_dft_eV``, ``e_d3_eV`` each).
    manifest_json
        The system's structure manifest (which interfaces the ensemble samples).
    dispersion
        ``method`` and ``damping`` of :func:`~isingflow.dft.dispersion.d3_energy_eV`.
    formula_unit_element
        E_b per formula unit = per atom of this element.

    Returns
    -------
    dict
        :func:`system_binding`'s record, each point with its energies.
    """
    import json
    from pathlib import Path

    from ase.io import read

    from isingflow.dft.dispersion import d3_energy_eV
    from isingflow.dft.gpaw.layers import sampled_interfaces

    manifest = json.loads(Path(manifest_json).read_text())
    rows = []
    for p in points:
        e_dft = float(json.loads(Path(p["gs"]).read_text())["energy_eV"])
        e_d3 = d3_energy_eV(read(p["structure"]), dispersion["method"], dispersion["damping"])
        lay = json.loads(Path(p["layers"]).read_text())["layers"]
        rows.append({**p, "e_dft_eV": e_dft, "e_d3_eV": e_d3, "layers_e_dft_eV": [r["e_dft_eV"] for r in lay],
                     "layers_e_d3_eV": [r["e_d3_eV"] for r in lay]})
        if all("e_dft_ghost_eV" in r for r in lay):  # geometry.counterpoise_curve: ghosts at every point
            rows[-1]["bsse_eV"] = sum(r["e_dft_eV"] - r["e_dft_ghost_eV"] for r in lay)
    record = next(manifest["variants"][p["variant"]] for p in points if p["variant"] in manifest["variants"])
    norm = stack_normalisation(read(points[0]["structure"]), len(sampled_interfaces(record)), formula_unit_element)
    out = system_binding(rows, None, norm)
    out["points"] = [{k: v for k, v in r.items() if k not in ("gs", "structure", "layers")} for r in rows]
    out["dispersion"] = dict(dispersion)
    return out
