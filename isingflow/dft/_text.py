"""Reading helpers shared by the VASP and Quantum ESPRESSO readers.

The error type for bad output files, file reading with clear messages (missing, empty,
binary, malformed XML), Fortran number parsing, species-label → element mapping, telling a
band path from a mesh, and the writers' ``isingflow_inputs.json`` sidecar as the readers
see it.
"""
from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from ase.data import atomic_numbers

#: a float as Fortran prints it: ``-12.3456``, ``1.0E-05``, ``0.5000-0.2500`` (run together)
FLOAT_RE = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eEdD][-+]?\d+)?")

#: name of the JSON file the input writers put beside the inputs (settings, k-path labels, ...)
INPUTS_RECORD = "isingflow_inputs.json"


class BadOutputError(ValueError):
    """A DFT output file is empty, truncated, foreign or lacks something the reader needs.

    The message always starts with the file name and says what is missing.
    """

    def __init__(self, path: str | os.PathLike, what: str):
        self.path = Path(path)
        self.what = what
        super().__init__(f"{path}: {what}")


def read_text(path: str | os.PathLike, kind: str) -> str:
    """The text of ``path``; :class:`BadOutputError` when it is missing, empty or binary."""
    path = Path(path)
    if not path.is_file():
        raise BadOutputError(path, f"no such {kind} file")
    raw = path.read_bytes()
    if not raw.strip():
        raise BadOutputError(path, f"empty file (no {kind} content)")
    if b"\x00" in raw[:65536]:
        raise BadOutputError(path, f"binary content, not a {kind}")
    return raw.decode("utf-8", errors="replace")


def read_finished_output(path: Path, kind: str, banner: str) -> str:
    """The text of a Quantum ESPRESSO program output that carries ``banner`` and finished ('JOB DONE')."""
    text = read_text(path, f"{kind} output")
    if banner not in text[:5000]:
        raise BadOutputError(path, f"not a {kind} output (no '{banner}' banner)")
    if "JOB DONE" not in text:
        raise BadOutputError(path, f"truncated or unfinished {kind} output: no 'JOB DONE.' line")
    return text


def choose(table: dict[str, Any], value: Any, what: str, writer: str) -> Any:
    """``table[str(value).lower()]``; a ValueError naming the setting and the known keys otherwise."""
    key = str(value).lower()
    if key not in table:
        raise ValueError(f"settings[{what!r}]={value!r}: {writer} writer knows {sorted(table)}")
    return table[key]


def file_or_folder(path: str | os.PathLike, read_file, read_folder):
    """``read_folder(path)`` for a folder, ``read_file(path)`` for a file, FileNotFoundError otherwise."""
    path = Path(path)
    if path.is_dir():
        return read_folder(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file or directory")
    return read_file(path)


def head(path: str | os.PathLike, nbytes: int = 4096) -> str:
    """The first ``nbytes`` of ``path`` as text ('' for unreadable files)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(nbytes).decode("utf-8", errors="replace")
    except OSError:
        return ""


def parse_xml(path: str | os.PathLike, kind: str) -> ET.Element:
    """Parse an XML file; truncated or malformed XML gives a :class:`BadOutputError`."""
    path = Path(path)
    read_text(path, kind)  # empty / missing / binary checks
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BadOutputError(path, f"malformed or truncated {kind} XML ({exc}); "
                                   "the run did not finish or the file was cut") from exc


def floats(text: str) -> list[float]:
    """All numbers in ``text`` (Fortran ``D`` exponents allowed)."""
    return [float(x.replace("D", "E").replace("d", "e")) for x in FLOAT_RE.findall(text)]


def maybe_float(text: str | None) -> float | None:
    """The first number in ``text``; None for no text or no number."""
    if text is None:
        return None
    v = floats(text)
    return v[0] if v else None


def normalised(weights: np.ndarray) -> np.ndarray:
    """k-point weights scaled to sum to one (unchanged when they sum to zero)."""
    weights = np.asarray(weights, dtype=float)
    return weights / weights.sum() if weights.sum() > 0 else weights


def element_of(label: str) -> str:
    """Chemical element of a species label: ``Fe1`` -> ``Fe``, ``Cr_up`` -> ``Cr``, ``NB`` -> ``Nb``."""
    m = re.match(r"([A-Za-z]{1,2})", label.strip())
    if not m:
        raise ValueError(f"cannot tell the element of species label {label!r}")
    letters = m.group(1)
    for cand in (letters[:2].capitalize(), letters[:1].upper()):
        if cand in atomic_numbers and cand != "X":
            return cand
    raise ValueError(f"cannot tell the element of species label {label!r}")


def looks_like_path(kpoints: np.ndarray, min_fraction: float = 0.75, min_points: int = 8) -> bool:
    """True when the k-points run along straight, evenly spaced segments (a band path, not a mesh).

    A point is 'on a segment' when it sits halfway between its neighbours; a band path has
    almost all interior points on segments, a mesh listed row by row has few.
    """
    k = np.asarray(kpoints, dtype=float)
    if len(k) < min_points:
        return False
    mid = k[1:-1] - 0.5 * (k[:-2] + k[2:])
    step = np.linalg.norm(np.diff(k, axis=0), axis=1)
    scale = max(float(np.median(step)), 1e-8)
    on_segment = np.linalg.norm(mid, axis=1) < 1e-3 * max(scale, 1e-3) + 1e-5
    return bool(on_segment.mean() >= min_fraction)


def read_inputs_record(folder: Path) -> dict[str, Any] | None:
    """The writers' ``isingflow_inputs.json`` in ``folder`` (None if absent or unreadable)."""
    rec = folder / INPUTS_RECORD
    if not rec.is_file():
        return None
    try:
        return json.loads(rec.read_text())
    except (OSError, ValueError):
        return None


def find_inputs_record(folder: Path, levels: int = 1) -> dict[str, Any] | None:
    """The first ``isingflow_inputs.json`` in ``folder`` or up to ``levels - 1`` folders above it."""
    for d in [folder, *folder.parents][:levels]:
        rec = read_inputs_record(d)
        if rec:
            return rec
    return None
