"""spglib, quietly: symmetry operations and the space and layer group of a slab."""
from __future__ import annotations

import numpy as np


def spglib_cell(atoms):
    """``atoms`` as spglib's (lattice, fractional positions, numbers)."""
    return (np.array(atoms.cell), atoms.get_scaled_positions(wrap=True), atoms.numbers)


def call_spglib(func: str, *args, **kwargs):
    """Call ``spglib.<func>`` (None on failure), without its deprecation chatter."""
    import warnings

    import spglib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return getattr(spglib, func)(*args, **kwargs)
        except Exception:  # noqa: BLE001 - spglib signals failure by None or by an exception
            return None


def layer_symmetry_operations(atoms, symprec: float) -> tuple[np.ndarray, np.ndarray]:
    """The symmetry operations (rotations, translations; fractional) that keep z along ±z."""
    sym = call_spglib("get_symmetry", spglib_cell(atoms), symprec=symprec)
    if sym is None:
        return np.zeros((0, 3, 3), int), np.zeros((0, 3))
    rots, trans = np.asarray(sym["rotations"]), np.asarray(sym["translations"])
    ok = [k for k, r in enumerate(rots) if r[2, 0] == 0 and r[2, 1] == 0 and abs(r[2, 2]) == 1
          and r[0, 2] == 0 and r[1, 2] == 0]
    return rots[ok], trans[ok]


def symmetry_info(atoms) -> dict:
    """Space group of the periodic slab model and layer group (spglib, 1e-3 Å)."""
    out = {}
    ds = call_spglib("get_symmetry_dataset", spglib_cell(atoms), symprec=1e-3)
    if ds is not None:
        out["space_group"] = f"{ds.international} ({ds.number})"
    lds = call_spglib("get_symmetry_layerdataset", spglib_cell(atoms), aperiodic_dir=2, symprec=1e-3)
    if lds is not None:
        out["layer_group"] = f"{lds.international} ({lds.number})"
    return out
