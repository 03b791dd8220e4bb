"""Quantum ESPRESSO: any pw.x output (XML, text, or a run folder) into a :class:`BandStructure`.

:func:`read_qe_bands` takes a file or a run folder.  The pw.x XML (:mod:`.xml`) gives
eigenvalues and occupations per spin, fractional k-points, the Fermi level, cell, positions,
site moments (QE ≥ 7.0) and SOC flags; the pw.x text output (:mod:`.pwout`) the same from the
last 'End of ...' section.

Moments come only from self-consistent runs ('bands'/'nscf' runs do not recompute them);
when the XML of a run lacks site moments (QE < 7.0) they are taken from the text output of
the same run in the same folder.  A 'bands' text output has no Fermi level: it is taken from
an SCF output (text or XML) of the same system in the same folder, and
``provenance['fermi_level_from']`` names it.  Projections onto atoms come from projwfc.x
(:mod:`.projwfc`).  In a folder (searched together with ``*.save`` sub-folders) the XML wins
over the text, a band run over an SCF run, more k-points over fewer.

Any empty, truncated, unfinished, unconverged or foreign file raises
:class:`~isingflow.dft._text.BadOutputError` (a ``ValueError``) naming the file and what is
missing.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from isingflow.dft._text import BadOutputError, file_or_folder, find_inputs_record, head, looks_like_path, read_text
from isingflow.dft.bandfile import BandStructure
from isingflow.dft.kpoints import record_path_labels, special_point_labels
from isingflow.dft.qe.projwfc import attach_projections
from isingflow.dft.qe.pwout import read_pw_output
from isingflow.dft.qe.xml import NONSCF, read_qe_xml
from isingflow.provenance import hash_file


def _sniff(path: Path) -> str:
    """xml | atomic_proj | pw | projwfc, or BadOutputError."""
    text = head(path, 8192)
    if not text.strip():
        read_text(path, "Quantum ESPRESSO output")  # raises 'empty file'
    if "<PROJECTIONS" in text[:500]:
        return "atomic_proj"
    if "qes:espresso" in text or re.search(r"<espresso[\s>]", text):
        return "xml"
    if "Program PWSCF" in text:
        return "pw"
    if "Program PROJWFC" in text:
        return "projwfc"
    raise BadOutputError(path, "not a Quantum ESPRESSO output (no qes:espresso XML root, no "
                               "'Program PWSCF' banner)")


def read_qe_bands(path: str | os.PathLike) -> BandStructure:
    """Read Quantum ESPRESSO output (pw.x XML, pw.x text, or a run folder) into a BandStructure.

    Raises ``ValueError`` (``BadOutputError``) naming the file and what is missing for empty,
    truncated, foreign or unconverged output, and for files that hold no band energies
    (projwfc.x outputs, ``atomic_proj.xml``, pw.x outputs that did not print eigenvalues).
    """
    return file_or_folder(path, _read_file, _read_folder)


def _read_file(path: Path) -> BandStructure:
    kind = _sniff(path)
    readers = {"xml": _bands_from_xml, "pw": _bands_from_text}
    if kind in readers:
        return readers[kind](path)
    if kind == "atomic_proj":
        raise BadOutputError(path, "atomic_proj.xml holds projections only: read the pw.x XML "
                                   "(data-file-schema.xml) beside it")
    raise BadOutputError(path, "projwfc.x output holds projections only: read the pw.x output or XML")


def _candidates(folder: Path) -> tuple[list[tuple[Path, str]], list[Path]]:
    """pw.x XML / text outputs in ``folder`` and its ``*.save`` sub-folders, and the empty files seen."""
    dirs = [folder] + sorted(p for p in folder.glob("**/*.save") if p.is_dir())[:20]
    out, empty = [], []
    for d in dirs:
        for p in sorted(d.iterdir()):
            if not p.is_file() or p.suffix in (".UPF", ".upf", ".in", ".json", ".sh", ".dat"):
                continue
            if p.stat().st_size == 0 or not head(p, 4096).strip():
                empty.append(p)
                continue
            try:
                kind = _sniff(p)
            except BadOutputError:
                continue
            if kind in ("xml", "pw"):
                out.append((p, kind))
    return out, empty


def _read_folder(folder: Path) -> BandStructure:
    """Every pw.x output in the folder is parsed (a broken one is an error); the richest is used.

    Richest: XML before text, a band run before an SCF run, more k-points before fewer; text
    outputs without printed eigenvalues are never chosen.
    """
    cands, empty = _candidates(folder)
    if not cands:
        extra = f" (empty files: {', '.join(p.name for p in empty)})" if empty else ""
        raise BadOutputError(folder, f"no Quantum ESPRESSO output here (pw.x XML or text output){extra}")
    ranked = []
    for p, kind in cands:
        d = read_qe_xml(p) if kind == "xml" else read_pw_output(p)  # raises on broken files
        if d["eigenvalues"] is None:
            continue
        is_band = d["calculation"] == "bands"
        ranked.append(((kind != "xml", not is_band, -d["eigenvalues"].shape[1], p.name), p, kind))
    if not ranked:
        extra = f"; empty files: {', '.join(p.name for p in empty)}" if empty else ""
        raise BadOutputError(folder, "no pw.x output here holds eigenvalues (text outputs print them only "
                                     f"for < 100 k-points or verbosity='high'; keep the XML data file){extra}")
    ranked.sort(key=lambda r: r[0])
    _, best, kind = ranked[0]
    bands = _bands_from_xml(best) if kind == "xml" else _bands_from_text(best)
    bands.provenance["chosen_from_folder"] = {"folder": str(folder), "chosen": best.name,
                                              "others": [r[1].name for r in ranked[1:]],
                                              "ignored_empty_files": [p.name for p in empty]}
    return bands


def _bands_from_xml(path: Path) -> BandStructure:
    d = read_qe_xml(path)
    bands = _band_structure(d, path, d["fermi_level"], nelec=d["nelec"])
    prov = bands.provenance
    if d["magmoms"] is not None:
        prov["magmoms_source"] = "XML Scalar_Site_Magnetic_Moments"
    elif d["lsda"] or d["noncolin"]:
        if d["calculation"] in NONSCF:
            prov["magmoms_note"] = f"a '{d['calculation']}' run does not recompute moments"
        else:
            _moments_from_sibling_text(bands, path)
    _finish(bands, path, d["calculation"] == "bands" or looks_like_path(d["kpoints"]))
    return bands


def _moments_from_sibling_text(bands: BandStructure, xml_path: Path) -> None:
    for p in sorted(xml_path.parent.iterdir()):
        if p == xml_path or not p.is_file() or p.suffix in (".xml", ".in", ".UPF", ".upf"):
            continue
        if "Program PWSCF" not in head(p, 5000):
            continue
        t = read_pw_output(p)
        if (t["eigenvalues"] is not None and t["eigenvalues"].shape == bands.eigenvalues.shape
                and t["fermi_level"] is not None and abs(t["fermi_level"] - bands.fermi_level) < 2e-3
                and t["magmoms"] is not None):
            bands.magmoms = t["magmoms"]
            bands.provenance["magmoms_source"] = f"{p.name} 'Magnetic moment per site' (same run)"
            bands.provenance["files"][str(p)] = hash_file(p)
            return


def _bands_from_text(path: Path) -> BandStructure:
    d = read_pw_output(path)
    if d["eigenvalues"] is None:
        raise BadOutputError(path, "pw.x did not print the eigenvalues (it skips them for >= 100 k-points "
                                   "unless verbosity='high'): read the XML data file instead")
    fermi, extra = d["fermi_level"], {}
    if d["homo_lumo"] is not None:
        extra["homo_lumo_eV"] = d["homo_lumo"]
    if fermi is None:
        fermi, src = _fermi_from_sibling(path, d)
        extra.update(fermi_level_from=str(src), fermi_kind="from the SCF run beside it")
    bands = _band_structure(d, path, fermi, **extra)
    prov = bands.provenance
    if d["magmoms"] is not None:
        prov["magmoms_source"] = "pw.x 'Magnetic moment per site' (last block)"
    if "Begin final coordinates" in read_text(path, "pw.x output"):
        prov["positions_note"] = "relaxation: cell/positions are the initial ones (read the XML for the final)"
    _finish(bands, path, looks_like_path(d["kpoints"]))
    return bands


def _fermi_from_sibling(path: Path, d: dict) -> tuple[float, Path]:
    """Fermi level of an SCF run of the same system (same cell and atoms) beside a band run."""
    skipped: list[str] = []
    for p in sorted(path.parent.iterdir()):
        if p == path or not p.is_file() or p.suffix in (".in", ".UPF", ".upf", ".json"):
            continue
        h = head(p, 8192)
        if not h.strip():
            skipped.append(f"{p}: empty file")
            continue
        try:
            if "Program PWSCF" in h:
                t = read_pw_output(p)
                if t["calculation"] != "scf":
                    continue
            elif "qes:espresso" in h:
                t = read_qe_xml(p)
                if t["calculation"] in NONSCF:
                    continue
            else:
                continue
        except BadOutputError as exc:
            skipped.append(str(exc))
            continue
        if (t["fermi_level"] is not None and t["symbols"] == d["symbols"]
                and np.allclose(t["cell"], d["cell"], atol=1e-3)):
            return float(t["fermi_level"]), p
    why = f" (unusable: {'; '.join(skipped)})" if skipped else ""
    raise BadOutputError(path, "no Fermi level: a 'bands' run does not print one, and no SCF output "
                               f"(text or XML) of the same structure was found beside it{why}")


def _finish(bands: BandStructure, path: Path, is_path_run: bool) -> None:
    folder = path.parent
    rec = find_inputs_record(folder, levels=3)
    if rec and rec.get("code") == "qe":
        bands.inputs_hash = rec.get("inputs_sha256")
    labels = record_path_labels(rec, bands.nkpts)
    if labels is not None:
        bands.path_labels = labels
    elif is_path_run:
        bands.path_labels = special_point_labels(bands.cell, bands.kpoints)
    attach_projections(bands, path)




def _band_structure(d: dict[str, Any], path: Path, fermi: float, **extra: Any) -> BandStructure:
    """A BandStructure from a parsed XML or text output; ``extra`` goes into the provenance."""
    prov: dict[str, Any] = {"files": {str(path): hash_file(path)}, "calculation": d["calculation"],
                            "fermi_kind": d["fermi_kind"], "total_magnetization": d["total_magnetization"],
                            "absolute_magnetization": d["absolute_magnetization"]}
    if "nelec" in extra:
        prov["nelec"] = extra.pop("nelec")
    if d["fermi_up_down"] is not None:
        prov["fermi_energies_up_down_eV"] = d["fermi_up_down"]
    prov.update(extra)
    return BandStructure(
        eigenvalues=d["eigenvalues"], kpoints=d["kpoints"], fermi_level=fermi, code="qe",
        code_version=d["version"], cell=d["cell"], symbols=d["symbols"], positions=d["positions"],
        weights=d["weights"], soc=bool(d["noncolin"] and d["spinorbit"]), magmoms=d["magmoms"],
        source=str(path), provenance=prov,
    )
