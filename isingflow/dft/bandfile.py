"""The pipeline's normalised band-structure file.

One format for every DFT code (GPAW, VASP, Quantum ESPRESSO): later stages read only this.
On disk it is a NumPy ``.npz`` archive holding the arrays below plus a ``meta`` entry with a
JSON string (scalars, labels, provenance).  :func:`write_bands` writes atomically.

Conventions
-----------
* ``eigenvalues``: array ``[spin, k, band]`` in eV, absolute (not shifted by the Fermi level).
  ``spin`` has length 1 for non-spin-polarised and for spin-orbit (non-collinear) runs, 2 for
  collinear spin-polarised runs (0 = up/majority, 1 = down/minority).
* ``kpoints``: fractional coordinates in the reciprocal basis of ``cell``, shape ``[k, 3]``.
* ``path_labels``: list of ``(k_index, label)`` for a band path (``"G"`` for Gamma); empty for a mesh.
* ``fermi_level``: eV.
* ``spin_expectation``: ``[k, band, 3]``, the expectation value of the Pauli matrices (⟨σx⟩, ⟨σy⟩,
  ⟨σz⟩, between -1 and 1) of each spinor state; present only when ``soc`` is true.
* ``projections``: ``[spin, k, band, atom]`` weight of each state on each atom (optional).
* ``magmoms``: ``[atom]`` local moments in µB (optional).
* ``unfold_weights``: ``[spin, k, band]`` spectral weight of each supercell state at the
  primitive-cell k-point ``kpoints_primitive[k]`` (band unfolding; optional).  The weights of one
  state summed over all primitive k-points that fold onto the same supercell k equal its
  weight on the unfolded sublattice.
* ``kpoints_primitive``: ``[k, 3]`` fractional k-points in the primitive reciprocal basis of the
  unfolded path, with ``primitive_cell`` ``[3, 3]`` (Å); ``path_labels`` then refer to it.
* ``atom_layers``: ``[atom]`` index of the layer each atom belongs to (0 = bottom; optional),
  so that ``projections`` can be summed into layer projections.
* ``vacuum_levels``: electrostatic potential far from the slab on the bottom and top side, eV
  (optional, for band alignment).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from isingflow.provenance import atomic_path

FORMAT_NAME = "isingflow-bands"
FORMAT_VERSION = 1

_ARRAYS = ("eigenvalues", "kpoints", "cell", "positions", "weights", "spin_expectation",
           "projections", "magmoms", "vacuum_levels", "unfold_weights", "kpoints_primitive",
           "primitive_cell")


@dataclass
class BandStructure:
    """Eigenvalues and metadata of one DFT calculation (see the module docstring)."""

    eigenvalues: np.ndarray
    kpoints: np.ndarray
    fermi_level: float
    code: str
    code_version: str = "unknown"
    cell: np.ndarray | None = None
    symbols: list[str] | None = None
    positions: np.ndarray | None = None
    weights: np.ndarray | None = None
    path_labels: list[tuple[int, str]] = field(default_factory=list)
    soc: bool = False
    spin_expectation: np.ndarray | None = None
    projections: np.ndarray | None = None
    magmoms: np.ndarray | None = None
    vacuum_levels: np.ndarray | None = None
    unfold_weights: np.ndarray | None = None
    kpoints_primitive: np.ndarray | None = None
    primitive_cell: np.ndarray | None = None
    atom_layers: list[int] | None = None
    inputs_hash: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        self.eigenvalues = np.asarray(self.eigenvalues, dtype=float)
        self.kpoints = np.asarray(self.kpoints, dtype=float)
        if self.eigenvalues.ndim != 3:
            raise ValueError(f"eigenvalues must be [spin, k, band], got shape {self.eigenvalues.shape}")
        nspin, nk, nb = self.eigenvalues.shape
        if nspin not in (1, 2):
            raise ValueError(f"eigenvalues: spin dimension must be 1 or 2, got {nspin}")
        if self.kpoints.shape != (nk, 3):
            raise ValueError(f"kpoints must have shape ({nk}, 3), got {self.kpoints.shape}")
        if not np.isfinite(self.fermi_level):
            raise ValueError("fermi_level is not finite")
        for name in _ARRAYS:
            val = getattr(self, name)
            if val is not None and not isinstance(val, np.ndarray):
                setattr(self, name, np.asarray(val, dtype=float))
        if self.spin_expectation is not None and self.spin_expectation.shape != (nk, nb, 3):
            raise ValueError(f"spin_expectation must be [k, band, 3] = ({nk}, {nb}, 3), "
                             f"got {self.spin_expectation.shape}")
        if self.projections is not None and self.projections.shape[:3] != (nspin, nk, nb):
            raise ValueError(f"projections must be [spin, k, band, atom], got {self.projections.shape}")
        self.path_labels = [(int(i), str(s)) for i, s in self.path_labels]
        if self.atom_layers is not None:
            self.atom_layers = [int(x) for x in self.atom_layers]

    # -- convenience -------------------------------------------------------------------
    @property
    def nspins(self) -> int:
        return self.eigenvalues.shape[0]

    @property
    def nkpts(self) -> int:
        return self.eigenvalues.shape[1]

    @property
    def nbands(self) -> int:
        return self.eigenvalues.shape[2]

    @property
    def spin_polarized(self) -> bool:
        return self.nspins == 2

    def kpoints_cartesian(self) -> np.ndarray:
        """k-points in Cartesian coordinates, 1/Å (including the 2π)."""
        if self.cell is None:
            raise ValueError("cell is unknown: cannot convert k-points to Cartesian")
        recip = 2 * np.pi * np.linalg.inv(self.cell).T
        return self.kpoints @ recip

    def path_distance(self) -> np.ndarray:
        """Cumulative distance along the k-path, 1/Å (along the primitive path when unfolded)."""
        if self.kpoints_primitive is not None and self.primitive_cell is not None:
            kc = self.kpoints_primitive @ (2 * np.pi * np.linalg.inv(self.primitive_cell).T)
        else:
            kc = self.kpoints_cartesian()
        steps = np.linalg.norm(np.diff(kc, axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(steps)])

    def layer_projections(self) -> np.ndarray:
        """Projections summed per layer, ``[spin, k, band, layer]`` (needs ``atom_layers``)."""
        if self.projections is None or self.atom_layers is None:
            raise ValueError(f"{self.source}: no projections or no atom_layers in this band file")
        layers = np.asarray(self.atom_layers, dtype=int)
        out = np.zeros(self.projections.shape[:3] + (layers.max() + 1,))
        for layer in range(layers.max() + 1):
            out[..., layer] = self.projections[..., layers == layer].sum(axis=-1)
        return out

    def dos(self, energies_eV, width_eV: float = 0.1, atoms=None, layer: int | None = None) -> np.ndarray:
        """Total or projected density of states, ``[spin, energy]``, in states/eV per cell.

        Gaussian broadening of ``width_eV`` (standard deviation) over the k-points with their
        weights (the SCF-mesh file, ``mesh.npz``).  Per spin channel when spin-polarised; a
        spin-degenerate collinear file counts both spins (factor 2), a SOC file one state per band.
        ``atoms`` (indices) or ``layer`` project onto those atoms (needs ``projections``), e.g.
        the CrBr3 or the NbSe2 layer of a stack.
        """
        if self.weights is None:
            raise ValueError(f"{self.source}: no k-point weights (a DOS needs the SCF-mesh band file)")
        e = np.asarray(energies_eV, dtype=float)
        w = self.weights / self.weights.sum()
        occupancy = 2.0 if (self.nspins == 1 and not self.soc) else 1.0
        weight = np.ones(self.eigenvalues.shape)
        if atoms is not None or layer is not None:
            if self.projections is None:
                raise ValueError(f"{self.source}: no projections in this band file")
            if layer is not None:
                if self.atom_layers is None:
                    raise ValueError(f"{self.source}: no atom_layers in this band file")
                atoms = [i for i, lay in enumerate(self.atom_layers) if lay == layer]
            weight = self.projections[..., list(atoms)].sum(axis=-1)
        gauss = np.exp(-0.5 * ((e[None, None, None, :] - self.eigenvalues[..., None]) / width_eV) ** 2)
        gauss /= width_eV * np.sqrt(2 * np.pi)
        return occupancy * np.einsum("k,skb,skbe->se", w, weight, gauss)

    def label_index(self, label: str) -> list[int]:
        return [i for i, s in self.path_labels if s == label]


def fermi_window(energy_minus_ef_eV, width_eV: float) -> np.ndarray:
    """−∂f/∂ε of a Fermi–Dirac distribution of width ``width_eV`` (1/eV): the weight of a state at
    the Fermi level (it integrates to one)."""
    x = np.asarray(energy_minus_ef_eV, dtype=float) / width_eV
    return 1.0 / (4 * width_eV * np.cosh(np.clip(x, -300, 300) / 2) ** 2)


def write_bands(path: str | os.PathLike, bands: BandStructure) -> None:
    """Write ``bands`` to ``path`` (``.npz``) atomically."""
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fermi_level": float(bands.fermi_level),
        "code": bands.code,
        "code_version": bands.code_version,
        "symbols": bands.symbols,
        "atom_layers": bands.atom_layers,
        "path_labels": bands.path_labels,
        "soc": bool(bands.soc),
        "inputs_hash": bands.inputs_hash,
        "provenance": bands.provenance,
        "source": bands.source,
    }
    arrays = {name: getattr(bands, name) for name in _ARRAYS if getattr(bands, name) is not None}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, meta=np.array(json.dumps(meta, default=str)), **arrays)


def read_bandfile(path: str | os.PathLike) -> BandStructure:
    """Read a normalised band file written by :func:`write_bands`."""
    import zipfile

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "meta" not in data:
                raise ValueError(f"{path}: not an {FORMAT_NAME} file (no 'meta' entry)")
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in _ARRAYS if name in data}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: cannot read normalised band file: {exc}") from exc
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}: format is {meta.get('format')!r}, expected {FORMAT_NAME!r}")
    for required in ("eigenvalues", "kpoints"):
        if required not in arrays:
            raise ValueError(f"{path}: missing array {required!r}")
    return BandStructure(
        fermi_level=meta["fermi_level"], code=meta["code"], code_version=meta.get("code_version", "unknown"),
        symbols=meta.get("symbols"), atom_layers=meta.get("atom_layers"), path_labels=meta.get("path_labels", []),
        soc=meta.get("soc", False),
        inputs_hash=meta.get("inputs_hash"), provenance=meta.get("provenance", {}),
        source=meta.get("source") or str(path), **arrays,
    )
