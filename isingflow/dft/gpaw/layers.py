"""Layers of a stack on their own: cut out, moved apart, isolated-layer energies, counterpoise BSSE.

Every energy here is a GPAW ground state with the keyword arguments of
:func:`~isingflow.dft.gpaw.ground_state.gpaw_parameters` (so with the settings of the stack's own
SCF); the layers keep the stack's cell, so that the real-space grid is the stack's.

Counterpoise (Boys–Bernardi): in LCAO a layer inside the stack can borrow the basis functions
of its neighbours, which lowers its energy and overbinds the stack (basis-set superposition
error).  The layer's energy with the other layers present as *ghost* atoms (basis functions, no
nuclei, no electrons: GPAW ``setups={index: "ghost"}``) measures it:
BSSE(d) = Σ_layers [E_layer(own basis) − E_layer(stack basis)] ≥ 0, and the counterpoise-corrected
binding energy is E_b + BSSE.  Conventions: ``docs/geometry.md``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from ase import Atoms

from isingflow.dft.gpaw.ground_state import SCFNotConverged, gpaw_parameters


@dataclass(frozen=True)
class LayerBSSE:
    """Counterpoise check of one layer at one interlayer distance (energies in eV)."""

    layer: int
    d_angstrom: float
    e_own_basis_eV: float
    e_stack_basis_eV: float

    @property
    def bsse_meV(self) -> float:
        """E(own basis) − E(with the other layers' ghost basis), meV (≥ 0: the ghosts lower it)."""
        return 1e3 * (self.e_own_basis_eV - self.e_stack_basis_eV)


def layer_indices(atoms: Atoms) -> np.ndarray:
    """The ``layer`` array of a stack (0 = bottom)."""
    if "layer" not in atoms.arrays:
        raise ValueError("the structure has no 'layer' array (build it with isingflow.structures)")
    return np.asarray(atoms.arrays["layer"], dtype=int)


def cut_layer(atoms: Atoms, layer: int, vacuum_angstrom: float | None = None) -> Atoms:
    """Layer ``layer`` of a stack, alone: in the stack's cell, or re-centred with ``vacuum_angstrom``."""
    lay = layer_indices(atoms)
    if layer not in set(lay.tolist()):
        raise ValueError(f"layer {layer} is not a layer of the stack (layers {sorted(set(lay.tolist()))})")
    part = atoms[lay == layer]
    if vacuum_angstrom is not None:
        _recentre(part, vacuum_angstrom)
    return part


def _recentre(atoms: Atoms, vacuum_angstrom: float) -> None:
    """Put ``vacuum_angstrom`` below and above the slab (in place), as the structure builder does."""
    z = atoms.positions[:, 2]
    atoms.positions[:, 2] += vacuum_angstrom - z.min()
    cell = np.array(atoms.cell)
    cell[2] = [0.0, 0.0, float(z.max() - z.min()) + 2.0 * vacuum_angstrom]
    atoms.set_cell(cell, scale_atoms=False)


def plane_heights(atoms: Atoms, plane_elements: Sequence[str]) -> np.ndarray:
    """Height (Å) of each layer's reference plane: the mean z of its ``plane_elements[i]`` atoms."""
    lay = layer_indices(atoms)
    symbols = np.array(atoms.get_chemical_symbols())
    out = []
    for i, el in enumerate(plane_elements):
        sel = (lay == i) & (symbols == el)
        if not sel.any():
            raise ValueError(f"layer {i} has no {el} atom")
        out.append(float(atoms.positions[sel, 2].mean()))
    return np.array(out)


def at_distances(atoms: Atoms, plane_elements: Sequence[str], distances_angstrom: Sequence[float],
                 vacuum_angstrom: float) -> Atoms:
    """The stack with its layers moved rigidly along z to the plane distances ``distances_angstrom``.

    Parameters
    ----------
    atoms
        A stack with a ``layer`` array.
    plane_elements
        The reference-plane element of each layer (the manifest's ``plane_element``).
    distances_angstrom
        Distance between the planes of layers i and i + 1, for every interface.
    vacuum_angstrom
        Vacuum below and above the moved stack.

    Returns
    -------
    ase.Atoms
        A copy; lateral positions and each layer's internal geometry unchanged.
    """
    planes = plane_heights(atoms, plane_elements)
    if len(distances_angstrom) != len(planes) - 1:
        raise ValueError(f"{len(planes)} layers need {len(planes) - 1} distances, got {len(distances_angstrom)}")
    target = planes[0] + np.concatenate([[0.0], np.cumsum(distances_angstrom)])
    out = atoms.copy()
    lay = layer_indices(atoms)
    for i, dz in enumerate(target - planes):
        out.positions[lay == i, 2] += dz
    _recentre(out, vacuum_angstrom)
    return out


def sampled_interfaces(record: dict) -> list[int]:
    """Interfaces whose distance the ensemble varies: those at the variant's ``distance_angstrom``.

    ``record``: a variant of the structure manifest (``distances_angstrom`` per interface and the
    sampled ``distance_angstrom``; a variant without it, e.g. ``base``: every interface).
    """
    dist = [float(x) for x in record["distances_angstrom"]]
    d = record.get("distance_angstrom")
    return list(range(len(dist))) if d is None else [k for k, x in enumerate(dist) if abs(x - float(d)) < 1e-6]


def at_interface_distance(atoms: Atoms, record: dict, d_angstrom: float, vacuum_angstrom: float) -> Atoms:
    """A manifest variant's stack with its sampled interfaces (:func:`sampled_interfaces`) at ``d_angstrom``.

    The other interfaces keep their distances; layers move rigidly (:func:`at_distances`).
    """
    dist = [float(x) for x in record["distances_angstrom"]]
    for k in sampled_interfaces(record):
        dist[k] = float(d_angstrom)
    planes = [lm["plane_element"] for lm in record["layers"]]
    return at_distances(atoms, planes, dist, vacuum_angstrom)


def scf_energy_eV(atoms: Atoms, settings: dict[str, Any], txt: str | None = None, ghosts: Sequence[int] = (),
                  **gpaw_kwargs) -> float:
    """Converged GPAW total energy (eV) of ``atoms``; atoms in ``ghosts`` carry only their basis.

    Parameters
    ----------
    atoms
        The structure (initial moments decide spin polarisation; ghosts' moments are set to 0).
    settings
        One profile's ``dft`` settings.
    txt
        GPAW's log file (None: no log).
    ghosts
        Atom indices that become ghost atoms (LCAO only).
    **gpaw_kwargs
        ``xc``, ``hubbard_u_eV``, ``dipole_correction`` of :func:`gpaw_parameters`.

    Raises
    ------
    SCFNotConverged
    """
    from gpaw import GPAW, KohnShamConvergenceError

    work = atoms.copy()
    ghosts = sorted(int(i) for i in ghosts)
    if ghosts:
        if settings["mode"] != "lcao":
            raise ValueError("ghost atoms need LCAO (settings['mode'] = 'lcao'): plane waves have no BSSE")
        moms = work.get_initial_magnetic_moments()
        moms[ghosts] = 0.0
        work.set_initial_magnetic_moments(moms)
    params = gpaw_parameters(work, settings, **gpaw_kwargs)
    if ghosts:
        params["setups"] = {**(params.get("setups") or {}), **{i: "ghost" for i in ghosts}}
    work.calc = GPAW(txt=txt, **params)
    try:
        return float(work.get_potential_energy())
    except KohnShamConvergenceError as exc:
        raise SCFNotConverged(f"GPAW SCF did not converge in {settings['maxiter']} iterations: {exc}") from exc


def isolated_layer_energies(atoms: Atoms, settings: dict[str, Any], txt_prefix: str | None = None,
                            **gpaw_kwargs) -> dict[int, float]:
    """E_DFT (eV) of every layer of a stack alone, in the stack's cell: layer → energy."""
    out = {}
    for i in sorted(set(layer_indices(atoms).tolist())):
        txt = f"{txt_prefix}-layer{i}.txt" if txt_prefix else None
        out[i] = scf_energy_eV(cut_layer(atoms, i), settings, txt, **gpaw_kwargs)
    return out


def counterpoise(atoms: Atoms, settings: dict[str, Any], d_angstrom: float, layers: Sequence[int] | None = None,
                 txt_prefix: str | None = None, **gpaw_kwargs) -> list[LayerBSSE]:
    """Counterpoise check of a stack: each layer alone and with the other layers as ghosts.

    Parameters
    ----------
    atoms
        The stack at interlayer distance ``d_angstrom`` (e.g. from :func:`at_distances`).
    settings
        One profile's ``dft`` settings; LCAO.
    d_angstrom
        The distance, recorded in the result.
    layers
        Which layers (default: all).
    txt_prefix
        GPAW logs ``<prefix>-layer<i>-own.txt`` / ``-ghost.txt`` (None: none).
    **gpaw_kwargs
        ``xc``, ``hubbard_u_eV``, ``dipole_correction`` of :func:`gpaw_parameters`.

    Returns
    -------
    list of LayerBSSE
        Both energies in the same cell, on the same grid, at the same atom positions.
    """
    lay = layer_indices(atoms)
    out = []
    for i in (sorted(set(lay.tolist())) if layers is None else layers):
        own_txt, ghost_txt = ((f"{txt_prefix}-layer{i}-{tag}.txt" if txt_prefix else None) for tag in ("own", "ghost"))
        own = scf_energy_eV(cut_layer(atoms, i), settings, own_txt, **gpaw_kwargs)
        ghost = scf_energy_eV(atoms, settings, ghost_txt, ghosts=np.flatnonzero(lay != i), **gpaw_kwargs)
        out.append(LayerBSSE(int(i), float(d_angstrom), own, ghost))
    return out
