"""Quantum ESPRESSO: a complete pw.x input set (``pw.in``, ``projwfc.in``, ``run.sh``, record).

``pw.in`` is written by ASE (``ase.io.write(format="espresso-in")``) from namelists and cards
built here by small named builders: :func:`control_namelist`, :func:`system_namelist`,
:func:`electrons_namelist`, :func:`dipole_entries`, :func:`hubbard_card` and the k-points;
:func:`write_qe_inputs` composes them.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from ase.units import Rydberg

from isingflow.dft._inputs import (
    guess_valence,
    hubbard_l,
    hubbard_manifold,
    hubbard_u,
    initial_magmoms,
    is_slab,
    is_spin_polarized,
    read_upf_valence,
    run_script,
    vacuum_gap,
    wants_dipole_correction,
    write_input_set,
)
from isingflow.dft._text import choose
from isingflow.dft.kpoints import kpoint_mesh, normalise_kpath
from isingflow.provenance import hash_object, jsonable

_SMEAR_QE = {"gaussian": "gaussian", "fermi-dirac": "fd", "fd": "fd", "methfessel-paxton": "mp", "mp": "mp",
             "mv": "mv", "marzari-vanderbilt": "mv", "cold": "mv"}
_VDW_QE: dict[str, dict[str, Any]] = {
    "d2": {"vdw_corr": "grimme-d2"},
    "d3": {"vdw_corr": "grimme-d3", "dftd3_version": 3},
    "d3bj": {"vdw_corr": "grimme-d3", "dftd3_version": 4},
    "ts": {"vdw_corr": "ts"},
    "optb88-vdw": {"input_dft": "vdw-df-obk8"},
    "optb86b-vdw": {"input_dft": "vdw-df-ob86"},
    "rvv10": {"input_dft": "rvv10"},
}


def species_table(atoms, mags: np.ndarray) -> dict[tuple[str, float], str]:
    """QE species labels exactly as ASE's espresso-in writer assigns them: one per (element, moment)."""
    table: dict[tuple[str, float], str] = {}
    for sym, m in zip(atoms.get_chemical_symbols(), mags):
        key = (sym, float(m))
        if key not in table:
            n = sum(k[0] == sym for k in table)
            table[key] = f"{sym}{n if n else ''}"
    return table


def starting_magnetization(atoms, mags: np.ndarray, settings: dict) -> tuple[np.ndarray, dict[str, str]]:
    """Moments (µB) as QE fractions m / Z_val (clipped to [-1, 1], 4 decimals) and where each Z_val came from."""
    pseudos = settings["pseudopotentials"]
    pseudo_dir = str(settings.get("pseudo_dir", "./pseudo"))
    zval_src: dict[str, str] = {}
    fractions = np.zeros(len(atoms))
    for i, (sym, m) in enumerate(zip(atoms.get_chemical_symbols(), mags)):
        z = (settings.get("valence_electrons") or {}).get(sym)
        src = "settings"
        if z is None:
            upf = Path(pseudo_dir) / str(pseudos[sym])
            z = read_upf_valence(upf) if upf.is_file() else None
            src = f"UPF {upf}"
        if z is None:
            z, src = guess_valence(sym), "rough guess (no UPF readable)"
        zval_src[sym] = f"{z} ({src})"
        fractions[i] = float(np.clip(m / float(z), -1.0, 1.0))
    return np.round(fractions, 4), zval_src


def control_namelist(settings: dict) -> dict[str, Any]:
    """``&control``: calculation, prefix, scratch and pseudopotential folders."""
    calc = settings.get("calculation", "scf")
    return {"calculation": calc, "prefix": str(settings.get("prefix", "isingflow")),
            "outdir": str(settings.get("outdir", "./out")), "pseudo_dir": str(settings.get("pseudo_dir", "./pseudo")),
            "verbosity": "high", "tprnfor": calc == "scf", "restart_mode": "from_scratch"}


def system_namelist(settings: dict, nspecies: int, spin: bool) -> dict[str, Any]:
    """``&system``: cutoffs (eV → Ry), smearing, bands, spin / SOC, functional and van der Waals."""
    ecut = float(settings.get("ecut_eV", 500.0))
    system: dict[str, Any] = {
        "ecutwfc": ecut / Rydberg,
        "ecutrho": float(settings.get("ecutrho_eV", 8 * ecut)) / Rydberg,
        "occupations": "smearing",
        "smearing": _SMEAR_QE[str(settings.get("smearing", "fermi-dirac")).lower()],
        "degauss": float(settings.get("smearing_eV", 0.05)) / Rydberg,
    }
    if settings.get("nbands"):
        system["nbnd"] = int(settings["nbands"])
    if settings.get("soc", False):
        system["noncolin"] = True
        system["lspinorb"] = True
        for j in range(nspecies):
            system[f"angle1({j + 1})"] = 0.0
            system[f"angle2({j + 1})"] = 0.0
    elif spin:
        system["nspin"] = 2
    xc = str(settings.get("xc", "PBE"))
    if xc.upper() != "PBE":
        system["input_dft"] = xc
    if settings.get("vdw"):
        system.update(choose(_VDW_QE, settings["vdw"], "vdw", "QE"))
    return system


def electrons_namelist(settings: dict, slab: bool) -> dict[str, Any]:
    """``&electrons``: convergence (eV → Ry), iterations, mixing (local-TF for slabs)."""
    electrons: dict[str, Any] = {"conv_thr": float(settings.get("scf_energy_tol_eV", 1e-6)) / Rydberg,
                                 "electron_maxstep": int(settings.get("maxiter", 200)),
                                 "mixing_beta": float(settings.get("mixing_beta", 0.3 if slab else 0.7))}
    if slab:
        electrons["mixing_mode"] = "local-TF"
    if settings.get("calculation", "scf") == "bands":
        electrons["diago_full_acc"] = True
    return electrons


def dipole_entries(atoms) -> tuple[dict[str, Any], dict[str, Any]]:
    """(&control, &system) entries of a dipole correction along z, the sawtooth in the vacuum."""
    start, width = vacuum_gap(atoms)
    eopreg = round(min(0.1, width / 3), 4)
    system = {"edir": 3, "eopreg": eopreg, "emaxpos": round(float(np.mod(start + width / 2 - eopreg / 2, 1.0)), 4),
              "eamp": 0.0}
    return {"tefield": True, "dipfield": True}, system


def hubbard_card(table: dict[tuple[str, float], str], settings: dict) -> str | None:
    """QE ≥ 7.1 ``HUBBARD (ortho-atomic)`` card, one line per species of a +U element; None without U."""
    hub = hubbard_u(settings, list(dict.fromkeys(s for s, _ in table)))
    if not hub:
        return None
    lmap = settings.get("hubbard_l") or {}
    lines = [f"HUBBARD ({settings.get('hubbard_projector', 'ortho-atomic')})"]
    for (sym, _), lab in table.items():
        if sym in hub:
            lines.append(f"U {lab}-{hubbard_manifold(sym, lmap.get(sym, hubbard_l(sym)))} {float(hub[sym]):.4f}")
    return "\n".join(lines) + "\n"


def kpoints_input(atoms, settings: dict):
    """(ASE ``kpts`` argument, Γ-centred mesh or None, path labels) for an SCF mesh or a band path."""
    if settings.get("calculation", "scf") == "bands":
        kpts, path_labels = normalise_kpath(settings.get("kpath"))
        return np.hstack([kpts, np.ones((len(kpts), 1))]), None, path_labels
    mesh = [int(n) for n in (settings.get("kpts") or kpoint_mesh(atoms, float(settings.get(
        "kpt_density_per_inv_angstrom", 4.0))))]
    return tuple(mesh), mesh, []


def label_kpoints(text: str, labels: list[tuple[int, str]]) -> str:
    """Append ``! label`` comments to the labelled lines of the K_POINTS crystal card."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("K_POINTS")) + 2
    for idx, lab in labels:
        lines[first + idx] += f"  ! {lab}"
    return "\n".join(lines) + "\n"


def projwfc_input(settings: dict) -> str:
    """``projwfc.in`` for the projections of a band run."""
    return ("&PROJWFC\n"
            f"  prefix = '{settings.get('prefix', 'isingflow')}'\n  outdir = '{settings.get('outdir', './out')}'\n"
            "  lsym = .false.\n  filpdos = 'pdos'\n/\n")


def qe_run_script(atoms, settings: dict, projections: bool) -> str:
    """``run.sh``: pw.x, then projwfc.x for a band run with projections."""
    command = str(settings.get("command", "pw.x"))
    body = [f"{command} -in pw.in > pw.out 2>&1"]
    if projections:
        pcmd = str(settings.get("projwfc_command") or re.sub(r"\bpw\.x\b", "projwfc.x", command))
        body.append(f"{pcmd} -in projwfc.in > projwfc.out 2>&1")
    soc = " with SOC" if settings.get("soc", False) else ""
    return run_script(f"pw.x {settings.get('calculation', 'scf')}{soc} for {atoms.get_chemical_formula()}", body)


def _check_pseudopotentials(atoms, settings: dict) -> None:
    pseudos = settings.get("pseudopotentials") or {}
    elements = list(dict.fromkeys(atoms.get_chemical_symbols()))
    missing = [e for e in elements if e not in pseudos]
    if missing:
        raise ValueError(f"settings['pseudopotentials'] has no file for {missing}")
    if settings.get("soc", False):
        nonrel = [pseudos[e] for e in elements if "rel" not in str(pseudos[e]).lower()]
        if nonrel:
            warnings.warn(f"SOC with pseudopotentials that do not look fully relativistic: {nonrel}",
                          stacklevel=3)


def pw_input(atoms, settings: dict) -> dict[str, Any]:
    """The text of ``pw.in`` and what the record needs (species, valences, mesh, path labels)."""
    from ase.io import write

    soc = bool(settings.get("soc", False))
    mags = initial_magmoms(atoms, settings)
    spin = is_spin_polarized(settings, mags)
    fractions, zval_src = starting_magnetization(atoms, mags, settings)
    table = species_table(atoms, fractions if spin or soc else np.zeros(len(atoms)))
    slab = is_slab(atoms)
    control, system = control_namelist(settings), system_namelist(settings, len(table), spin)
    if wants_dipole_correction(atoms, settings):
        dip_control, dip_system = dipole_entries(atoms)
        control.update(dip_control)
        system.update(dip_system)
    input_data = {"control": control, "system": system, "electrons": electrons_namelist(settings, slab)}
    for nl, entries in (settings.get("extra_qe") or {}).items():
        input_data.setdefault(nl.lower(), {}).update(entries)
    hubbard = hubbard_card(table, settings)
    at = atoms.copy()
    at.set_initial_magnetic_moments(fractions if (spin or soc) else None)
    kgrid, mesh, path_labels = kpoints_input(atoms, settings)
    buf = io.StringIO()
    write(buf, at, format="espresso-in", input_data=input_data, pseudopotentials=settings["pseudopotentials"],
          kpts=kgrid, koffset=(0, 0, 0), additional_cards=[hubbard] if hubbard else None)
    text = buf.getvalue()
    if mesh is None and path_labels:
        text = label_kpoints(text, path_labels)
    return {"text": text, "table": table, "zval_src": zval_src, "mesh": mesh, "path_labels": path_labels,
            "nkpts": None if mesh is not None else int(len(kgrid))}


def write_qe_inputs(atoms, outdir: str | os.PathLike, settings: dict) -> list[Path]:
    """Write a complete pw.x input set for ``atoms`` into ``outdir``; return the written paths.

    Files: ``pw.in`` (written by ``ase.io.write(format="espresso-in")``; HUBBARD card and band-path
    labels added as cards/comments), ``projwfc.in`` (band runs), ``run.sh`` and
    ``isingflow_inputs.json``.  Every file is written atomically.

    ``settings`` (a plain dict; units in the key names):

    ``calculation``            "scf" (default) or "bands" (along ``kpath``; needs the SCF's
                               ``outdir``/``prefix``; for SOC bands the SCF must be SOC too).
    ``pseudopotentials``       {element: UPF file name} (required; fully relativistic files for SOC).
    ``pseudo_dir``             folder of the UPF files (default "./pseudo"); read, when present,
                               for ``z_valence`` to turn moments into ``starting_magnetization``.
    ``valence_electrons``      {element: Z_val} when the UPF files are not readable here.
    ``outdir``, ``prefix``     pw.x scratch folder and prefix (defaults "./out", "isingflow").
    ``ecut_eV``                wave-function cutoff ``ecutwfc`` in eV (default 500; written in Ry).
    ``ecutrho_eV``             charge-density cutoff in eV (default 8 × ecut_eV, safe for USPP/PAW).
    ``kpt_density_per_inv_angstrom``  k-point density, points per 1/Å including 2π
                               (:func:`isingflow.dft.kpoints.kpoint_mesh`; default 4.0); one point along z of a slab.
    ``kpts``                   explicit mesh [n1, n2, n3] (Γ-centred; overrides the density).
    ``smearing``               "fermi-dirac" (default), "gaussian", "mp", "mv".
    ``smearing_eV``            ``degauss`` in eV (default 0.05; written in Ry).
    ``xc``                     "PBE" (default: taken from the pseudopotentials) or another
                               ``input_dft`` name (e.g. "PBEsol").
    ``vdw``                    None, "D2", "D3", "D3BJ", "TS", "optB88-vdW", "optB86b-vdW", "rVV10".
    ``hubbard_u_eV``           {element: U in eV}: QE ≥ 7.1 ``HUBBARD (ortho-atomic)`` card
                               (``hubbard_projector`` to change); ``hubbard_l`` {element: l}.
    ``initial_magmoms``        per-atom moments in µB (default ``atoms.get_initial_magnetic_moments()``);
                               each distinct (element, moment) becomes its own species.
    ``soc``                    noncolin + lspinorb, moments along z (angle1 = angle2 = 0).
    ``kpath``                  for "bands": ASE BandPath, {"kpts": [...], "labels": [[i, "G"], ...]},
                               or a list of (k, label) pairs; fractional coordinates of ``atoms.cell``
                               (written as ``K_POINTS crystal`` with labels as comments).
    ``dipole_correction``      "auto" (default: on for z-asymmetric slabs), True or False
                               (tefield + dipfield, edir=3, sawtooth placed in the vacuum).
    ``scf_energy_tol_eV``      ``conv_thr`` in eV (default 1e-6; written in Ry).
    ``maxiter``                ``electron_maxstep`` (default 200).
    ``mixing_beta``            default 0.3 (0.7 for bulk); slabs use ``mixing_mode='local-TF'``.
    ``nbands``                 ``nbnd`` (default pw.x's).
    ``command``                pw.x launcher, e.g. "srun pw.x" (default "pw.x"); ``projwfc_command``
                               (default: the command with pw.x -> projwfc.x).
    ``projections``            write/run projwfc.x after a band run (default True).
    ``extra_qe``               {namelist: {key: value}} added last (expert overrides).
    """
    settings = dict(settings or {})
    calc = settings.get("calculation", "scf")
    if calc not in ("scf", "bands"):
        raise ValueError(f"settings['calculation'] must be 'scf' or 'bands', got {calc!r}")
    _check_pseudopotentials(atoms, settings)
    pw = pw_input(atoms, settings)
    files = {"pw.in": pw["text"]}
    projections = calc == "bands" and settings.get("projections", True)
    if projections:
        files["projwfc.in"] = projwfc_input(settings)
    files["run.sh"] = qe_run_script(atoms, settings, projections)
    record = {
        "code": "qe", "calculation": calc, "soc": bool(settings.get("soc", False)),
        "formula": atoms.get_chemical_formula(), "settings": jsonable(settings),
        "inputs_sha256": hash_object({"pw.in": pw["text"]}),
        "species": {lab: {"element": s, "starting_magnetization": f} for (s, f), lab in pw["table"].items()},
        "valence_electrons_used": pw["zval_src"], "command": str(settings.get("command", "pw.x")),
        "kpoint_mesh": pw["mesh"], "nkpts": pw["nkpts"], "path_labels": pw["path_labels"],
    }
    return write_input_set(outdir, files, record)
