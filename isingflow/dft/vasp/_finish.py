"""VASP readers: path labels and the inputs hash from the writer's record, once a BandStructure is read."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from isingflow.dft._text import read_inputs_record
from isingflow.dft.bandfile import BandStructure
from isingflow.dft.kpoints import record_path_labels, special_point_labels


def finish(bands: BandStructure, folder: Path, is_path_run: bool) -> None:
    """Path labels (the writer's record, else the special points: of the zero-weight part of a
    hybrid run, or of a band path) and the inputs hash of the writer's record in ``folder``."""
    rec = read_inputs_record(folder)
    rec_labels = record_path_labels(rec, bands.nkpts)
    if rec and rec.get("code") == "vasp":
        bands.inputs_hash = rec.get("inputs_sha256")
    if rec_labels is not None:
        bands.path_labels = rec_labels
        return
    w = bands.weights
    zero = np.flatnonzero(w == 0) if w is not None else np.array([], int)
    if 0 < len(zero) < bands.nkpts:
        bands.path_labels = special_point_labels(bands.cell, bands.kpoints, zero)
        bands.provenance["zero_weight_kpoints"] = int(len(zero))
    elif is_path_run:
        bands.path_labels = special_point_labels(bands.cell, bands.kpoints)
