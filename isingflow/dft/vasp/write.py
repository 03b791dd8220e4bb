"""VASP: a complete input set (INCAR, KPOINTS, POSCAR, POTCAR.spec, run.sh, record).

INCAR is assembled from small named groups (:func:`incar_basics`, :func:`incar_spin`,
:func:`incar_hubbard`, :func:`incar_vdw`, :func:`incar_dipole`, :func:`incar_outputs`), KPOINTS,
POSCAR and ``run.sh`` by their own builders, and the files are written through pymatgen's
:mod:`pymatgen.io.vasp.inputs`; :func:`write_vasp_inputs` composes them.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from isingflow.dft._inputs import (
    hubbard_l,
    hubbard_u,
    initial_magmoms,
    is_spin_polarized,
    run_script,
    slab_center,
    wants_dipole_correction,
    write_input_set,
)
from isingflow.dft._text import choose
from isingflow.dft.kpoints import kpoint_mesh, normalise_kpath
from isingflow.provenance import hash_object, jsonable

_GGA = {"PBE": "PE", "PBESOL": "PS", "RPBE": "RP", "REVPBE": "RE", "LDA": None, "PZ": None}
_SMEAR_VASP = {"gaussian": 0, "fermi-dirac": -1, "fd": -1, "methfessel-paxton": 1, "mp": 1}
_VDW_VASP: dict[str, dict[str, Any]] = {
    "d2": {"IVDW": 1},
    "d3": {"IVDW": 11},
    "d3bj": {"IVDW": 12},
    "ts": {"IVDW": 20},
    "optb88-vdw": {"GGA": "BO", "PARAM1": 0.1833333333, "PARAM2": 0.22, "LUSE_VDW": True, "AGGAC": 0.0},
    "optb86b-vdw": {"GGA": "MK", "PARAM1": 0.1234, "PARAM2": 1.0, "LUSE_VDW": True, "AGGAC": 0.0},
}


def _default_potcar(symbol: str) -> str:
    """pymatgen's PBE_54 choice (MP) for ``symbol``; the bare symbol when it has none."""
    import yaml
    from pymatgen.io import vasp as pmg_vasp

    table = yaml.safe_load((Path(pmg_vasp.__file__).parent / "PBE54Base.yaml").read_text())["POTCAR"]
    return table.get(symbol, symbol)


def _sorted_atoms(atoms):
    """Atoms grouped by element (stable, in order of first appearance) and the permutation used."""
    syms = atoms.get_chemical_symbols()
    order = list(dict.fromkeys(syms))
    sort = sorted(range(len(atoms)), key=lambda i: (order.index(syms[i]), i))
    return atoms[sort], sort


def incar_basics(atoms, settings: dict) -> dict[str, Any]:
    """Title, precision, cutoff, SCF convergence, functional and smearing."""
    calc, soc = settings.get("calculation", "scf"), bool(settings.get("soc", False))
    incar: dict[str, Any] = {"SYSTEM": f"{atoms.get_chemical_formula()} isingflow {calc}{' SOC' if soc else ''}",
                             "PREC": "Accurate", "ENCUT": float(settings.get("ecut_eV", 500.0)),
                             "EDIFF": float(settings.get("scf_energy_tol_eV", 1e-6)),
                             "NELM": int(settings.get("maxiter", 200)), "ALGO": settings.get("algo", "Normal")}
    xc = str(settings.get("xc", "PBE"))
    if xc.upper() not in _GGA:
        raise ValueError(f"settings['xc']={xc!r}: VASP writer knows {sorted(_GGA)}")
    if _GGA[xc.upper()] is not None:
        incar["GGA"] = _GGA[xc.upper()]
    smear = str(settings.get("smearing", "fermi-dirac")).lower()
    if smear not in _SMEAR_VASP:
        raise ValueError(f"settings['smearing']={smear!r}: VASP has {sorted(_SMEAR_VASP)}")
    incar["ISMEAR"] = _SMEAR_VASP[smear]
    incar["SIGMA"] = float(settings.get("smearing_eV", 0.05))
    return incar


def incar_spin(atoms, settings: dict) -> dict[str, Any]:
    """ISPIN / MAGMOM, or the non-collinear SOC tags with moments along SAXIS."""
    mags = initial_magmoms(atoms, settings)
    if settings.get("soc", False):
        # moments along SAXIS, given in the SAXIS frame: (0, 0, m); magnetic + SOC: no symmetry,
        # no time-reversal k/-k pairing (ISYM=-1); GGA_COMPAT off as recommended for non-collinear GGA
        return {"LSORBIT": True, "LNONCOLLINEAR": True, "SAXIS": [float(x) for x in settings.get("saxis", (0, 0, 1))],
                "MAGMOM": [[0.0, 0.0, float(m)] for m in mags], "ISYM": -1, "GGA_COMPAT": False, "LORBMOM": True}
    if is_spin_polarized(settings, mags):
        return {"ISPIN": 2, "MAGMOM": [float(m) for m in mags]}
    return {"ISPIN": 1}


def incar_hubbard(species: list[str], settings: dict) -> dict[str, Any]:
    """Dudarev +U (LDAUTYPE=2) on the d/f shell, LMAXMIX for d/f elements."""
    hub = hubbard_u(settings, species)
    incar: dict[str, Any] = {}
    if hub:
        lmap = settings.get("hubbard_l") or {}
        incar.update(LDAU=True, LDAUTYPE=2,
                     LDAUL=[int(lmap.get(s, hubbard_l(s))) if s in hub else -1 for s in species],
                     LDAUU=[float(hub.get(s, 0.0)) for s in species], LDAUJ=[0.0 for _ in species], LDAUPRINT=1)
    has_d = any(hubbard_l(s) == 2 for s in species)
    has_f = any(hubbard_l(s) == 3 for s in species)
    if has_d or has_f or hub:
        incar["LMAXMIX"] = 6 if has_f else 4
    vdw = settings.get("vdw")
    if has_d or has_f or hub or (vdw and "vdw" in str(vdw).lower()):
        incar["LASPH"] = True
    return incar


def incar_vdw(atoms, settings: dict) -> dict[str, Any]:
    """van der Waals correction or functional, and LREAL."""
    incar: dict[str, Any] = {}
    if settings.get("vdw"):
        incar.update(choose(_VDW_VASP, settings["vdw"], "vdw", "VASP"))
    incar["LREAL"] = settings.get("lreal", "Auto" if len(atoms) >= 20 else False)
    return incar


def incar_dipole(atoms, settings: dict) -> dict[str, Any]:
    """Dipole correction along z at the slab centre (IDIPOL=3, LDIPOL) when wanted."""
    if not wants_dipole_correction(atoms, settings):
        return {}
    return {"IDIPOL": 3, "LDIPOL": True, "DIPOL": [0.5, 0.5, round(slab_center(atoms), 6)]}


def incar_outputs(settings: dict) -> dict[str, Any]:
    """LORBIT and the files kept: CHGCAR and LOCPOT (SCF) or a fixed-charge band run (ICHARG=11)."""
    incar: dict[str, Any] = {"LORBIT": 11}
    if settings.get("calculation", "scf") == "scf":
        # LVHAR: LOCPOT with the Hartree+ionic potential, for the vacuum levels
        incar.update(LCHARG=True, LWAVE=bool(settings.get("lwave", False)), LVHAR=True)
    else:
        incar.update(ICHARG=11, LCHARG=False, LWAVE=False)
    if settings.get("nbands"):
        incar["NBANDS"] = int(settings["nbands"])
    return incar


def vasp_incar(atoms, settings: dict) -> dict[str, Any]:
    """The INCAR tags (a plain dict, in writing order) for ``atoms`` (already grouped by element)."""
    calc = settings.get("calculation", "scf")
    if calc not in ("scf", "bands"):
        raise ValueError(f"settings['calculation'] must be 'scf' or 'bands', got {calc!r}")
    species = list(dict.fromkeys(atoms.get_chemical_symbols()))
    incar = incar_basics(atoms, settings)
    for group in (incar_spin(atoms, settings), incar_hubbard(species, settings), incar_vdw(atoms, settings),
                  incar_dipole(atoms, settings), incar_outputs(settings)):
        incar.update(group)
    for k, val in (settings.get("extra_incar") or {}).items():
        incar[str(k).upper()] = val
    return incar


def vasp_kpoints(atoms, settings: dict):
    """(pymatgen Kpoints, mesh or None, path labels): an explicit band path or a mesh from the density."""
    from pymatgen.io.vasp.inputs import Kpoints

    if settings.get("calculation", "scf") == "bands":
        kpts, path_labels = normalise_kpath(settings.get("kpath"))
        labels = [""] * len(kpts)
        for i, lab in path_labels:
            labels[i] = lab
        kpoints = Kpoints(comment=f"band path {'-'.join(lab for _, lab in path_labels)} (explicit, reciprocal)",
                          num_kpts=len(kpts), style=Kpoints.supported_modes.Reciprocal,
                          kpts=[tuple(float(round(x, 10)) + 0.0 for x in k) for k in kpts],
                          kpts_weights=[1.0] * len(kpts), labels=labels)
        return kpoints, None, path_labels
    density = settings.get("kpt_density_per_inv_angstrom", 4.0)
    mesh = [int(n) for n in (settings.get("kpts") or kpoint_mesh(atoms, float(density)))]
    gamma = settings.get("kpt_gamma_centered", True)
    kpoints = Kpoints.gamma_automatic(tuple(mesh)) if gamma else Kpoints.monkhorst_automatic(tuple(mesh))
    kpoints.comment = f"{'Gamma-centred' if gamma else 'Monkhorst-Pack'} mesh from {density} pts per 1/A"
    return kpoints, mesh, []


def vasp_poscar(atoms):
    """pymatgen Poscar of ``atoms`` (no site properties: single points need no selective dynamics)."""
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.io.vasp.inputs import Poscar

    structure = AseAtomsAdaptor.get_structure(atoms)
    if "magmom" in structure.site_properties:
        structure.remove_site_property("magmom")
    return Poscar(structure, comment=f"{atoms.get_chemical_formula()} isingflow")


def vasp_command(settings: dict) -> str:
    """The launcher: ``command``, for SOC ``command_soc`` or the command with vasp_std/vasp_gam -> vasp_ncl."""
    command = str(settings.get("command", "vasp_std"))
    if settings.get("soc", False):
        command = str(settings.get("command_soc") or re.sub(r"vasp_(std|gam)\b", "vasp_ncl", command))
    return command


def vasp_run_script(atoms, settings: dict) -> str:
    """``run.sh``: assemble POTCAR from POTCAR.spec, fetch the SCF CHGCAR for a band run, run VASP."""
    calc, family = settings.get("calculation", "scf"), settings.get("potcar_family", "potpaw_PBE")
    body = [
        "if [ ! -s POTCAR ]; then",
        '  : "${VASP_PP_PATH:?set VASP_PP_PATH (folder holding ' + family + '/) or put a POTCAR here}"',
        "  : > POTCAR.part",
        f'  while read -r sym; do cat "$VASP_PP_PATH/{family}/$sym/POTCAR" >> POTCAR.part; done < POTCAR.spec',
        "  mv POTCAR.part POTCAR",
        "fi",
    ]
    if calc == "bands":
        src = settings.get("chgcar_from")
        if src:
            body.append(f'[ -s CHGCAR ] || cp "{src}/CHGCAR" CHGCAR')
        body.append('[ -s CHGCAR ] || { echo "ICHARG=11 needs the CHGCAR of the SCF run" >&2; exit 1; }')
    body.append(f"{vasp_command(settings)} > vasp.out 2>&1")
    soc = " with SOC" if settings.get("soc", False) else ""
    note = "POTCAR is licensed and not written: it is assembled from POTCAR.spec and $VASP_PP_PATH."
    return run_script(f"VASP {calc}{soc} for {atoms.get_chemical_formula()}", body, notes=(note,))


def write_vasp_inputs(atoms, outdir: str | os.PathLike, settings: dict) -> list[Path]:
    """Write a complete VASP input set for ``atoms`` into ``outdir``; return the written paths.

    Files: ``INCAR``, ``KPOINTS``, ``POSCAR`` (atoms grouped by element, order of first
    appearance; the permutation is stored in ``isingflow_inputs.json`` as ``sort``),
    ``POTCAR.spec`` (one POTCAR symbol per POSCAR species, in order: POTCARs are licensed and not
    written), ``run.sh`` (assembles POTCAR from ``$VASP_PP_PATH`` when missing, fetches the SCF
    CHGCAR for a band run, runs ``command``) and ``isingflow_inputs.json`` (settings, their hash,
    k-mesh or path labels).  Every file is written atomically.

    ``settings`` (a plain dict; units in the key names):

    ``calculation``            "scf" (default) or "bands" (non-SCF, ICHARG=11, along ``kpath``).
    ``ecut_eV``                plane-wave cutoff ENCUT, eV (default 500).
    ``kpt_density_per_inv_angstrom``  k-point density, points per 1/Å including 2π (ASE
                               ``kptdensity2monkhorstpack``; default 4.0); one point along z of a slab.
    ``kpts``                   explicit mesh [n1, n2, n3] (overrides the density).
    ``kpt_gamma_centered``     Γ-centred mesh (default True; keeps hexagonal symmetry).
    ``smearing``               "fermi-dirac" (default, ISMEAR=-1), "gaussian" (0), "mp" (1).
    ``smearing_eV``            SIGMA, eV (default 0.05).
    ``xc``                     "PBE" (default), "PBEsol", "RPBE", "revPBE", "LDA" (use LDA POTCARs).
    ``vdw``                    None, "D2", "D3", "D3BJ", "TS", "optB88-vdW", "optB86b-vdW".
    ``hubbard_u_eV``           {element: U_eff in eV} (Dudarev, LDAUTYPE=2); ``hubbard_l`` {element: l}
                               overrides the shell (default d for transition metals, f for 4f/5f).
    ``initial_magmoms``        per-atom moments in µB (default ``atoms.get_initial_magnetic_moments()``).
    ``spin_polarized``         force ISPIN=2 even with zero moments (default: on when any moment ≠ 0).
    ``soc``                    spin–orbit coupling (LSORBIT, ISYM=-1, GGA_COMPAT=.FALSE., MAGMOM as
                               (0, 0, m) in the SAXIS frame).  Needs ``vasp_ncl``.
    ``saxis``                  spin quantisation axis (default (0, 0, 1), out of plane).
    ``kpath``                  for "bands": ASE BandPath, {"kpts": [[...]], "labels": [[i, "G"], ...]},
                               or a list of (k, label) pairs; fractional coordinates of ``atoms.cell``.
    ``dipole_correction``      "auto" (default: on for z-asymmetric slabs), True or False
                               (IDIPOL=3, LDIPOL, DIPOL at the slab centre).
    ``scf_energy_tol_eV``      EDIFF, eV (default 1e-6).   ``maxiter``: NELM (default 200).
    ``lreal``                  LREAL (default "Auto" for ≥ 20 atoms, else .FALSE.).
    ``nbands``                 NBANDS (default: VASP's; doubled automatically for SOC).
    ``potcar_symbols``         {element: POTCAR symbol}, e.g. {"Nb": "Nb_pv"}; default pymatgen's
                               PBE_54 (Materials Project) choice.
    ``potcar_family``          folder under ``$VASP_PP_PATH`` used by run.sh (default "potpaw_PBE").
    ``command``                launcher, e.g. "srun vasp_std" (default "vasp_std"); for SOC
                               ``command_soc`` or the command with vasp_std/vasp_gam -> vasp_ncl.
    ``chgcar_from``            for "bands": folder of the SCF run whose CHGCAR run.sh copies in.
    ``extra_incar``            {TAG: value} added last (expert overrides, e.g. KPAR, NCORE).
    """
    from pymatgen.io.vasp.inputs import Incar

    settings = dict(settings or {})
    atoms = atoms.copy()
    atoms.set_initial_magnetic_moments(initial_magmoms(atoms, settings))
    satoms, sort = _sorted_atoms(atoms)
    incar_d = vasp_incar(satoms, {**settings, "initial_magmoms": satoms.get_initial_magnetic_moments().tolist()})
    species = list(dict.fromkeys(satoms.get_chemical_symbols()))
    poscar = vasp_poscar(satoms).get_str(significant_figures=10)
    kpoints, mesh, path_labels = vasp_kpoints(satoms, settings)
    potmap = settings.get("potcar_symbols") or {}
    potcars = [str(potmap.get(s, _default_potcar(s))) for s in species]
    files = {"INCAR": Incar(incar_d).get_str(), "KPOINTS": str(kpoints), "POSCAR": poscar,
             "POTCAR.spec": "\n".join(potcars) + "\n", "run.sh": vasp_run_script(atoms, settings)}
    calc = settings.get("calculation", "scf")
    record = {
        "code": "vasp", "calculation": calc, "soc": bool(settings.get("soc", False)),
        "formula": atoms.get_chemical_formula(), "settings": jsonable(settings),
        "inputs_sha256": hash_object({"incar": incar_d, "kpoints": str(kpoints), "poscar": poscar, "potcars": potcars}),
        "sort": sort, "potcar_symbols": dict(zip(species, potcars)), "command": vasp_command(settings),
        "kpoint_mesh": mesh, "nkpts": None if calc == "scf" else len(kpoints.kpts), "path_labels": path_labels,
    }
    return write_input_set(outdir, files, record)
