"""GPAW: band unfolding onto a primitive zone and its set-up from a stacking manifest.

Two routes to the same spectral weight W_n(k_p) (docs/unfolding.md):
LCAO mode projects ψ_n onto the orbitals of the atoms that are periodic in the primitive cell
(:func:`lcao_unfold_weights`); plane-wave mode keeps the part of the pseudo wave function in the
height range of those atoms and sums its plane-wave weight over the wave vectors that belong to
k_p (:func:`grid_unfold_weights`, Popescu–Zunger).  :func:`unfold_weights` picks the route.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np


def primitive_translations(supercell_matrix: np.ndarray) -> np.ndarray:
    """The |det M| primitive lattice vectors inside the supercell, as integer primitive coords."""
    M = np.asarray(supercell_matrix, dtype=int)
    n = int(round(abs(np.linalg.det(M))))
    inv = np.linalg.inv(M)
    span = int(np.abs(M).sum(axis=0).max())
    found: dict[tuple, np.ndarray] = {}
    for n1 in range(-span, span + 1):
        for n2 in range(-span, span + 1):
            for n3 in range(-span, span + 1) if M[2, 2] != 1 else (0,):
                t = np.array([n1, n2, n3])
                frac = np.round((t @ inv) % 1.0, 8) % 1.0
                found.setdefault(tuple(frac), t)
    if len(found) != n:
        raise ValueError(f"supercell matrix {M.tolist()}: found {len(found)} translations, expected {n}")
    return np.array(list(found.values()))


def unfold_weights(calc, supercell_matrix: np.ndarray, kpts_primitive: np.ndarray,
                   atoms_subset: list[int] | None, nspins: int) -> np.ndarray:
    """Spectral weight of each supercell state at its primitive k (``[spin, k, band]``): LCAO orbitals
    in LCAO mode (:func:`lcao_unfold_weights`), plane waves of the pseudo wave function otherwise
    (:func:`grid_unfold_weights`)."""
    if hasattr(next(iter(calc.dft.ibzwfs)), "C_nM"):
        return lcao_unfold_weights(calc, supercell_matrix, kpts_primitive, atoms_subset, nspins)
    return grid_unfold_weights(calc, supercell_matrix, kpts_primitive, atoms_subset, nspins)


def lcao_unfold_weights(calc, supercell_matrix: np.ndarray, kpts_primitive: np.ndarray,
                        atoms_subset: list[int] | None, nspins: int) -> np.ndarray:
    """Spectral weight of each supercell state at its primitive k (LCAO; ``[spin, k, band]``).

    W_n(k_p) = (1/N) Σ_T e^{i k_p·T} ⟨ψ_n|T̂|ψ_n⟩ over the N primitive translations T of the
    supercell, with ψ_n restricted to the orbitals of ``atoms_subset`` (the sublattice that is
    periodic in the primitive cell).  ⟨ψ|T̂ψ⟩ = C† S(k) D_T, where D_T carries the coefficients of
    atom a to its image T(a) with the Bloch phase of the supercell vector that wraps it.
    """
    wfs_iter = list(calc.dft.ibzwfs)
    if not hasattr(wfs_iter[0], "C_nM"):
        raise NotImplementedError("band unfolding is implemented for LCAO mode only")
    atoms = calc.get_atoms()
    M = np.asarray(supercell_matrix, dtype=int)
    subset = np.arange(len(atoms)) if atoms_subset is None else np.asarray(atoms_subset, dtype=int)
    nao_a = [setup.nao for setup in calc.setups]
    offsets = np.concatenate([[0], np.cumsum(nao_a)])
    translations = primitive_translations(M)
    inv = np.linalg.inv(M)
    images = _translation_images(atoms, subset, translations, inv)
    ibz = calc.get_ibz_k_points()
    nk = len(ibz)
    out = None
    for wfs in wfs_iter:
        C = np.asarray(wfs.C_nM.data)          # ψ_n = Σ_μ C_nμ Φ_μ,  C* S C^T = 1
        S = np.asarray(wfs.S_MM.data)
        kfrac_s = np.asarray(wfs.kpt_c)
        csub = np.zeros_like(C)
        for a in subset:
            csub[:, offsets[a]:offsets[a + 1]] = C[:, offsets[a]:offsets[a + 1]]
        SC = csub.conj() @ S            # rows: <ψ_sub| S
        w = np.zeros(C.shape[0], dtype=complex)
        for t, mapping in images:
            D = np.zeros_like(C)
            for a, b, R in mapping:
                phase = np.exp(-2j * np.pi * kfrac_s @ R)
                D[:, offsets[b]:offsets[b + 1]] = C[:, offsets[a]:offsets[a + 1]] * phase
            kp = kpts_primitive[wfs.k]
            w += np.exp(2j * np.pi * kp @ t) * np.einsum("nm,nm->n", SC, D)
        if out is None:
            out = np.zeros((nspins, nk, C.shape[0]))
        out[wfs.spin, wfs.k] = (w / len(translations)).real
    return out


def subset_height_mask(atoms, atoms_subset: list[int] | None, shape: tuple[int, int, int]) -> np.ndarray:
    """1 on the grid planes (along the third cell vector) nearest to an atom of ``atoms_subset``, else 0.

    The planes are assigned to the atom closest in height (periodically only for a periodic third
    direction; a slab's vacuum goes to its outermost atoms), so
    for layered stacks the mask is the union of slabs of the subset's layers bounded half-way to the
    neighbouring layers.  All ones without a subset.
    """
    if atoms_subset is None or len(atoms_subset) == len(atoms):
        return np.ones(shape[2])
    periodic = bool(atoms.pbc[2])
    heights = atoms.get_scaled_positions(wrap=periodic)[:, 2]
    planes = np.arange(shape[2]) / shape[2]
    dist = planes[:, None] - heights[None, :]
    dist = np.abs((dist + 0.5) % 1.0 - 0.5) if periodic else np.abs(dist)
    nearest = np.argmin(dist, axis=1)
    return np.isin(nearest, np.asarray(atoms_subset)).astype(float)


def _belongs_to(kpt_s: np.ndarray, k_primitive: np.ndarray, shape, supercell_matrix: np.ndarray) -> np.ndarray:
    """Boolean FFT grid: whether plane wave k_s + m (supercell reciprocal coordinates) is k_p + a primitive G."""
    m = np.stack(np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n) for n in shape], indexing="ij"), axis=-1)
    q_p = (kpt_s + m) @ np.linalg.inv(np.asarray(supercell_matrix, float)).T - k_primitive
    return np.all(np.abs(q_p - np.round(q_p)) < 1e-6, axis=-1)


def grid_unfold_weights(calc, supercell_matrix: np.ndarray, kpts_primitive: np.ndarray,
                        atoms_subset: list[int] | None, nspins: int, chunk: int = 16) -> np.ndarray:
    """Spectral weight of each supercell state at its primitive k from its pseudo wave function.

    W_n(k_p) = Σ_{G: k_s+G = k_p+g} |c_n(k_s+G)|² / Σ_G |c_n(k_s+G)|², with c the Fourier
    coefficients of the periodic part of the pseudo wave function on the real-space grid after
    :func:`subset_height_mask` (the height range of ``atoms_subset``) and g the primitive reciprocal
    vectors (Popescu–Zunger).  The normalisation is the pseudo norm of the unmasked state; PAW
    corrections inside the spheres are not included.  Works in PW and LCAO mode.
    """
    atoms = calc.get_atoms()
    ibz = np.asarray(calc.get_ibz_k_points())
    nbands = calc.get_number_of_bands()
    out = np.zeros((nspins, len(ibz), nbands))
    for s in range(nspins):
        for k, kpt_s in enumerate(ibz):
            for n1 in range(0, nbands, chunk):
                n2 = min(n1 + chunk, nbands)
                u = np.asarray(calc.dft.wave_functions(n1=n1, n2=n2, kpt=k, spin=s, periodic=True).data)
                mask = subset_height_mask(atoms, atoms_subset, u.shape[1:])
                total = np.sum(np.abs(u) ** 2, axis=(1, 2, 3))
                c2 = np.abs(np.fft.fftn(u * mask[None, None, None, :], axes=(1, 2, 3))) ** 2 / np.prod(u.shape[1:])
                sel = _belongs_to(kpt_s, kpts_primitive[k], u.shape[1:], supercell_matrix)
                out[s, k, n1:n2] = c2[:, sel].sum(axis=1) / np.maximum(total, 1e-300)
    return out


def _translation_images(atoms, subset: np.ndarray, translations: np.ndarray, inv: np.ndarray) -> list:
    """For every primitive translation T: [(atom a, its image b, lattice vector R with T(a) = b + R)]."""
    spos = atoms.get_scaled_positions(wrap=True)
    cell_lengths = np.linalg.norm(np.array(atoms.cell), axis=1)
    # image of every subset atom under every translation, and the wrapping lattice vector
    images = []
    for t in translations:
        shift = t @ inv                                  # supercell fractional coordinates
        mapping = []
        for a in subset:
            target = spos[a] + shift
            diff = spos[subset] - target[None, :]
            wrap = np.round(diff)
            dist = np.linalg.norm((diff - wrap) * cell_lengths, axis=1)
            j = int(np.argmin(dist))
            if dist[j] > 1e-2 or atoms.numbers[subset[j]] != atoms.numbers[a]:
                raise ValueError(f"atom {a} ({atoms[a].symbol}) has no image under the primitive "
                                 f"translation {t.tolist()}: the unfold_atoms are not periodic in "
                                 "the primitive cell")
            b = int(subset[j])
            R = -wrap[j]                                 # target = spos[b] + R
            mapping.append((int(a), b, R))
        images.append((t, mapping))
    return images


def unfold_setup(manifest_path: str | os.PathLike, variant: str, material: str,
                 layers: list[int] | None) -> dict[str, Any]:
    """``supercell_matrix`` and ``unfold_atoms`` of :func:`~isingflow.dft.gpaw.bands.run_band_structure`
    for unfolding ``variant`` of a stacking manifest onto the primitive zone of ``material``.

    ``layers`` is the layer index of every atom (the structure's ``layer`` array).
    """
    import json

    with open(manifest_path) as fh:
        entry = json.load(fh)["variants"][variant]
    chosen = [layer for layer in entry["layers"] if layer["material"] == material]
    if not chosen or layers is None:
        raise ValueError(f"{manifest_path}: no {material} layer to unfold onto (config key 'dft.unfold_material')")
    matrix = np.eye(3, dtype=int)
    matrix[:2, :2] = np.array(chosen[0]["supercell_matrix"], dtype=int)
    wanted = {layer["index"] for layer in chosen}
    return {"supercell_matrix": matrix, "unfold_atoms": [i for i, lay in enumerate(layers) if lay in wanted]}
