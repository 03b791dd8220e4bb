"""Vacancy supercells: an N×N×1 supercell of a monolayer or a stack with one atom removed."""
from __future__ import annotations

import numpy as np

from isingflow.structures.errors import StructureError


def _vacancy_site(sc, element: str, position: str, layer: int | None) -> int:
    """The atom of ``element`` on the top or bottom plane (of ``layer``) closest to the in-plane cell centre."""
    symbols = np.array(sc.get_chemical_symbols())
    cand = np.where(symbols == element)[0]
    if layer is not None and "layer" in sc.arrays:
        cand = cand[sc.arrays["layer"][cand] == layer]
    if len(cand) == 0:
        raise StructureError(f"no {element} atom to remove" + (f" in layer {layer}" if layer is not None else ""))
    z = sc.positions[cand, 2]
    if position not in ("top", "bottom"):
        raise StructureError(f"position must be 'top' or 'bottom', not {position!r}")
    zsel = z.max() if position == "top" else z.min()
    cand = cand[np.abs(z - zsel) < 0.1]
    centre = np.array(sc.cell)[:2, :2].sum(axis=0) / 2
    d = np.linalg.norm(sc.positions[cand, :2] - centre, axis=1)
    return int(cand[np.lexsort((cand, np.round(d, 6)))[0]])


def vacancy_supercell(atoms, n: int, element: str = "Se", index: int | None = None, position: str = "top",
                      layer: int | None = None, magmom_near_vacancy: float = 0.0, neighbour_element: str | None = None):
    """An N×N×1 supercell of ``atoms`` (monolayer or stack) with one atom removed.

    Parameters
    ----------
    atoms
        The primitive slab (with ``arrays["layer"]`` for stacks).
    n
        In-plane supercell size N (paper: 10 for NbSe2, 300 atoms before removal).
    element
        Element to remove (default Se), ignored if ``index`` is given.
    index
        Atom index in the supercell to remove (overrides the automatic choice).
    position
        ``"top"`` or ``"bottom"``: remove from the highest or lowest atomic plane of ``element``
        (in ``layer`` if given); among those the atom closest to the in-plane cell centre.
    layer
        Restrict the choice to this layer.
    magmom_near_vacancy
        Initial moment (µB) put on the nearest neighbours of the vacancy (seeds a spin-polarised
        solution; 0 keeps the material library's moments).
    neighbour_element
        Only neighbours of this element get ``magmom_near_vacancy`` (default: any).

    Returns
    -------
    (ase.Atoms, dict)
        The defect supercell and a description (removed atom, its position, neighbours).
    """
    from ase.build import make_supercell

    if n < 1:
        raise StructureError("vacancy supercell N must be >= 1")
    sc = make_supercell(atoms, np.diag([n, n, 1]))
    sc.pbc = atoms.pbc
    if index is None:
        index = _vacancy_site(sc, element, position, layer)
    if not 0 <= index < len(sc):
        raise StructureError(f"vacancy index {index} out of range (0..{len(sc) - 1})")
    removed = {"index_in_pristine": index, "element": sc[index].symbol,
               "position_angstrom": sc.positions[index].round(6).tolist()}
    if "layer" in sc.arrays:
        removed["layer"] = int(sc.arrays["layer"][index])
    dist = sc.get_distances(index, list(range(len(sc))), mic=True)
    dist[index] = np.inf
    if neighbour_element:
        dist[np.array(sc.get_chemical_symbols()) != neighbour_element] = np.inf
    dmin = float(dist.min())
    neigh = [int(k) for k in np.where(dist < dmin + 0.1)[0]]
    removed["neighbours_after_removal"] = [k - (k > index) for k in neigh]  # indices after removal
    removed["neighbour_distance_angstrom"] = round(dmin, 6)
    if magmom_near_vacancy:
        moms = sc.get_initial_magnetic_moments()
        moms[neigh] = magmom_near_vacancy
        sc.set_initial_magnetic_moments(moms)
    del sc[index]
    return sc, removed
