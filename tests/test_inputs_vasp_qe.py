"""VASP and Quantum ESPRESSO input writers: files re-read with pymatgen / ASE and checked."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import kptdensity2monkhorstpack
from ase.io import read
from ase.io.espresso import read_fortran_namelist
from ase.units import Rydberg
from fixtures import fixture_path
from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar

from isingflow.dft.qe import write_qe_inputs
from isingflow.dft.vasp import write_vasp_inputs

PSEUDOS = {"Nb": "Nb.pbe-spn-kjpaw.UPF", "Se": "Se.pbe-dn-kjpaw.UPF", "Cr": "Cr.pbe-spn-kjpaw.UPF",
           "Br": "Br.pbe-n-kjpaw.UPF"}
PSEUDOS_REL = {k: v.replace("pbe", "rel-pbe") for k, v in PSEUDOS.items()}


def _nbse2(z0: float, a: float = 3.44, n: int = 2):
    out = []
    for i in range(n):
        for j in range(n):
            for el, (fx, fy), dz in (("Nb", (0, 0), 0.0), ("Se", (1 / 3, 2 / 3), 1.68), ("Se", (1 / 3, 2 / 3), -1.68)):
                out.append((el, (i + fx) / n, (j + fy) / n, z0 + dz))
    return out


def _crbr3(z0: float):
    out = [("Cr", 1 / 3, 2 / 3, z0), ("Cr", 2 / 3, 1 / 3, z0)]
    for k in range(3):
        for dz, off in ((1.4, 0.0), (-1.4, np.pi / 3)):
            ang = 2 * np.pi * k / 3 + off
            out.append(("Br", 0.5 + 0.15 * np.cos(ang), 0.5 + 0.15 * np.sin(ang), z0 + dz))
    return out


def heterostructure(trilayer: bool = True, cr_moments=(3.0, 3.0)) -> Atoms:
    """NbSe2(2x2)/CrBr3/NbSe2(2x2) on a 6.88 Å hexagonal cell (geometry only roughly physical)."""
    a, c = 6.88, 40.0
    cell = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    sites = _nbse2(10.0) + _crbr3(16.6) + (_nbse2(23.2) if trilayer else [])
    frac = np.array([[x, y, 0.0] for _, x, y, _ in sites])
    pos = frac @ cell
    pos[:, 2] = [z for *_, z in sites]
    atoms = Atoms([s for s, *_ in sites], positions=pos, cell=cell, pbc=[True, True, False])
    moms = iter(cr_moments)
    atoms.set_initial_magnetic_moments([next(moms) if s == "Cr" else 0.0 for s in atoms.get_chemical_symbols()])
    return atoms


BASE = {"ecut_eV": 450.0, "kpt_density_per_inv_angstrom": 4.0, "smearing_eV": 0.05, "xc": "PBE",
        "hubbard_u_eV": {"Cr": 3.0}, "vdw": "D3", "command": "srun vasp_std"}


def kpath(atoms):
    return atoms.cell.bandpath("GMKG", npoints=30, pbc=[True, True, False])


# ======================================================================================
# VASP
# ======================================================================================
def test_vasp_scf_bilayer(tmp_path):
    atoms = heterostructure(trilayer=False)             # NbSe2/CrBr3: asymmetric -> dipole correction
    files = write_vasp_inputs(atoms, tmp_path, BASE)
    assert {p.name for p in files} == {"INCAR", "KPOINTS", "POSCAR", "POTCAR.spec", "run.sh",
                                       "isingflow_inputs.json"}
    assert not list(tmp_path.glob(".*part*"))            # atomic writes leave no temporaries
    incar = Incar.from_file(tmp_path / "INCAR")
    poscar = Poscar.from_file(tmp_path / "POSCAR")
    assert poscar.site_symbols == ["Nb", "Se", "Cr", "Br"]
    assert (tmp_path / "POTCAR.spec").read_text().split() == ["Nb_pv", "Se", "Cr_pv", "Br"]
    rec = json.loads((tmp_path / "isingflow_inputs.json").read_text())
    sort = rec["sort"]
    # positions and symbols: POSCAR = atoms grouped by element (permutation recorded)
    back = read(tmp_path / "POSCAR", format="vasp")
    np.testing.assert_allclose(back.positions, atoms.positions[sort], atol=1e-6)
    assert back.get_chemical_symbols() == [atoms.get_chemical_symbols()[i] for i in sort]
    np.testing.assert_allclose(back.cell, atoms.cell, atol=1e-8)
    # moments follow the atoms
    np.testing.assert_allclose(incar["MAGMOM"], atoms.get_initial_magnetic_moments()[sort])
    assert incar["ISPIN"] == 2 and "LSORBIT" not in incar and "ICHARG" not in incar
    # DFT+U on Cr d only
    assert incar["LDAU"] is True and incar["LDAUTYPE"] == 2
    assert incar["LDAUL"] == [-1, -1, 2, -1] and incar["LDAUU"] == [0.0, 0.0, 3.0, 0.0]
    assert incar["LMAXMIX"] == 4 and incar["LASPH"] is True
    assert incar["ENCUT"] == 450.0 and incar["EDIFF"] == 1e-6 and incar["PREC"] == "Accurate"
    assert incar["ISMEAR"] == -1 and incar["SIGMA"] == 0.05 and incar["IVDW"] == 11
    assert incar["LORBIT"] == 11 and incar["LVHAR"] is True and incar["LREAL"] == "Auto"
    # dipole correction along z, centred in the slab (the discontinuity falls in the vacuum)
    assert incar["IDIPOL"] == 3 and incar["LDIPOL"] is True
    zf = atoms.get_scaled_positions()[:, 2]
    assert zf.min() < incar["DIPOL"][2] < zf.max()
    # k-mesh from the density, one point along the vacuum direction, Gamma-centred
    kp = Kpoints.from_file(tmp_path / "KPOINTS")
    slab = atoms.copy()
    slab.pbc = [True, True, False]
    assert kp.style == Kpoints.supported_modes.Gamma
    assert list(kp.kpts[0]) == list(kptdensity2monkhorstpack(slab, 4.0, even=False)) == [5, 5, 1]
    run = (tmp_path / "run.sh").read_text()
    assert "srun vasp_std > vasp.out" in run and os.access(tmp_path / "run.sh", os.X_OK)
    assert "POTCAR.spec" in run


def test_vasp_symmetric_trilayer_has_no_dipole_unless_asked(tmp_path):
    atoms = heterostructure(trilayer=True)
    write_vasp_inputs(atoms, tmp_path / "auto", BASE)
    assert "IDIPOL" not in Incar.from_file(tmp_path / "auto" / "INCAR")
    write_vasp_inputs(atoms, tmp_path / "forced", dict(BASE, dipole_correction=True))
    assert Incar.from_file(tmp_path / "forced" / "INCAR")["IDIPOL"] == 3


def test_vasp_soc_bands(tmp_path):
    atoms = heterostructure()
    bp = kpath(atoms)
    write_vasp_inputs(atoms, tmp_path, dict(BASE, calculation="bands", soc=True, kpath=bp, chgcar_from="../scf",
                                            potcar_symbols={"Nb": "Nb_sv"}))
    incar = Incar.from_file(tmp_path / "INCAR")
    sort = json.loads((tmp_path / "isingflow_inputs.json").read_text())["sort"]
    assert incar["ICHARG"] == 11 and incar["LSORBIT"] is True and incar["ISYM"] == -1
    assert incar["SAXIS"] == [0.0, 0.0, 1.0] and incar["GGA_COMPAT"] is False
    m = np.array(incar["MAGMOM"], dtype=float).reshape(-1, 3)
    np.testing.assert_allclose(m[:, 2], atoms.get_initial_magnetic_moments()[sort])
    np.testing.assert_allclose(m[:, :2], 0.0)
    assert incar["LDAUU"][2] == 3.0 and incar["LORBIT"] == 11 and incar["LCHARG"] is False
    kp = Kpoints.from_file(tmp_path / "KPOINTS")
    assert kp.style == Kpoints.supported_modes.Reciprocal and kp.num_kpts == 30
    np.testing.assert_allclose(np.array(kp.kpts), bp.kpts, atol=1e-9)
    assert [lab for lab in kp.labels if lab] == ["G", "M", "K", "G"]
    assert (tmp_path / "POTCAR.spec").read_text().split()[0] == "Nb_sv"
    run = (tmp_path / "run.sh").read_text()
    assert "srun vasp_ncl" in run and "vasp_std" not in run and "../scf/CHGCAR" in run
    rec = json.loads((tmp_path / "isingflow_inputs.json").read_text())
    assert rec["path_labels"] == [[0, "G"], [10, "M"], [16, "K"], [29, "G"]] and rec["nkpts"] == 30


def test_vasp_nonmagnetic_and_options(tmp_path):
    atoms = heterostructure()
    atoms.set_initial_magnetic_moments(None)
    write_vasp_inputs(atoms, tmp_path, {"ecut_eV": 400, "smearing": "gaussian", "vdw": "optB88-vdW",
                                        "kpts": [12, 12, 1], "extra_incar": {"KPAR": 4}})
    incar = Incar.from_file(tmp_path / "INCAR")
    assert incar["ISPIN"] == 1 and "MAGMOM" not in incar and "LDAU" not in incar
    assert incar["ISMEAR"] == 0 and incar["GGA"].upper() == "BO" and incar["LUSE_VDW"] is True
    assert incar["KPAR"] == 4
    assert list(Kpoints.from_file(tmp_path / "KPOINTS").kpts[0]) == [12, 12, 1]


@pytest.mark.parametrize("bad, match", [
    ({"smearing": "mv"}, "smearing"),
    ({"hubbard_u_eV": {"Fe": 4.0}}, "hubbard_u_eV"),
    ({"calculation": "bands"}, "kpath"),
    ({"calculation": "relax"}, "calculation"),
    ({"vdw": "many-body"}, "vdw"),
    ({"initial_magmoms": [1.0, 2.0]}, "initial_magmoms"),
])
def test_vasp_bad_settings(tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        write_vasp_inputs(heterostructure(), tmp_path, dict(BASE, **bad))


# ======================================================================================
# Quantum ESPRESSO
# ======================================================================================
def _namelists(path):
    with open(path) as fh:
        nl, cards = read_fortran_namelist(fh)
    return nl, cards


def test_qe_scf_bilayer(tmp_path):
    atoms = heterostructure(trilayer=False)
    files = write_qe_inputs(atoms, tmp_path, dict(BASE, pseudopotentials=PSEUDOS, command="srun pw.x"))
    assert {p.name for p in files} == {"pw.in", "run.sh", "isingflow_inputs.json"}
    back = read(tmp_path / "pw.in", format="espresso-in")
    np.testing.assert_allclose(back.positions, atoms.positions, atol=1e-8)
    np.testing.assert_allclose(back.cell, atoms.cell, atol=1e-8)
    assert back.get_chemical_symbols() == atoms.get_chemical_symbols()
    nl, cards = _namelists(tmp_path / "pw.in")
    sysnl, ctl, el = nl["system"], nl["control"], nl["electrons"]
    assert ctl["calculation"] == "scf" and sysnl["nspin"] == 2
    assert sysnl["ecutwfc"] == pytest.approx(450 / Rydberg) and sysnl["ecutrho"] == pytest.approx(8 * 450 / Rydberg)
    assert sysnl["occupations"] == "smearing" and sysnl["smearing"] == "fd"
    assert sysnl["degauss"] == pytest.approx(0.05 / Rydberg)
    assert sysnl["vdw_corr"] == "grimme-d3"
    assert el["conv_thr"] == pytest.approx(1e-6 / Rydberg) and el["mixing_mode"] == "local-TF"
    # species Nb, Se, Cr, Br: only Cr has a starting magnetisation (3 µB / rough valence 6)
    mags = {k: v for k, v in sysnl.items() if k.startswith("starting_magnetization")}
    assert mags == {"starting_magnetization(1)": 0.0, "starting_magnetization(2)": 0.0,
                    "starting_magnetization(3)": 0.5, "starting_magnetization(4)": 0.0}
    np.testing.assert_allclose(back.get_initial_magnetic_moments(),
                               [0.5 if s == "Cr" else 0.0 for s in atoms.get_chemical_symbols()])
    # dipole correction with the sawtooth discontinuity inside the vacuum
    assert ctl["tefield"] is True and ctl["dipfield"] is True and sysnl["edir"] == 3
    zf = np.mod(atoms.get_scaled_positions()[:, 2], 1)
    lo, hi = sysnl["emaxpos"], sysnl["emaxpos"] + sysnl["eopreg"]
    assert not np.any((zf > lo) & (zf < hi)) and not np.any((zf + 1 > lo) & (zf + 1 < hi))
    # k-mesh and DFT+U card
    text = (tmp_path / "pw.in").read_text()
    assert "K_POINTS automatic\n5 5 1  0 0 0" in text
    assert "HUBBARD (ortho-atomic)\nU Cr-3d 3.0000" in text
    run = (tmp_path / "run.sh").read_text()
    assert "srun pw.x -in pw.in > pw.out" in run and "projwfc" not in run


def test_qe_afm_species_and_upf_valence(tmp_path):
    atoms = heterostructure(trilayer=False, cr_moments=(3.0, -3.0))
    pdir = tmp_path / "pseudo"
    pdir.mkdir()
    (pdir / PSEUDOS["Cr"]).write_text('<UPF version="2.0.1">\n<PP_HEADER z_valence="1.400000000000E+01" '
                                      'element="Cr"/>\n</UPF>\n')
    write_qe_inputs(atoms, tmp_path / "run", dict(BASE, pseudopotentials=PSEUDOS, pseudo_dir=str(pdir)))
    nl, cards = _namelists(tmp_path / "run" / "pw.in")
    i = cards.index("ATOMIC_SPECIES")
    species = [c.split()[0] for c in cards[i + 1:i + 1 + nl["system"]["ntyp"]]]
    assert species == ["Nb", "Se", "Cr", "Cr1", "Br"]
    assert nl["system"]["starting_magnetization(3)"] == pytest.approx(3 / 14, abs=1e-4)   # from the UPF
    assert nl["system"]["starting_magnetization(4)"] == pytest.approx(-3 / 14, abs=1e-4)
    text = (tmp_path / "run" / "pw.in").read_text()
    assert "U Cr-3d 3.0000" in text and "U Cr1-3d 3.0000" in text
    # the first Cr atom is species 3 ("Cr", up), the second species 4 ("Cr1", down).  (ASE's
    # espresso-in reader maps moments by element, so it cannot be used to check this.)
    j = next(n for n, c in enumerate(cards) if c.startswith("ATOMIC_POSITIONS"))
    labels = [c.split()[0] for c in cards[j + 1:j + 1 + len(atoms)]]
    assert [lab for lab in labels if lab.startswith("Cr")] == ["Cr", "Cr1"]


def test_qe_soc_bands(tmp_path):
    atoms = heterostructure()
    bp = kpath(atoms)
    write_qe_inputs(atoms, tmp_path, dict(BASE, pseudopotentials=PSEUDOS_REL, calculation="bands", soc=True,
                                          kpath=bp, command="mpirun -np 64 pw.x -nk 4", outdir="../scf/out"))
    nl, cards = _namelists(tmp_path / "pw.in")
    s = nl["system"]
    assert nl["control"]["calculation"] == "bands" and nl["control"]["outdir"] == "../scf/out"
    assert s["noncolin"] is True and s["lspinorb"] is True and "nspin" not in s
    assert all(s[f"angle1({i})"] == 0.0 and s[f"angle2({i})"] == 0.0 for i in range(1, 5))
    assert nl["electrons"]["diago_full_acc"] is True
    i = next(j for j, c in enumerate(cards) if c.startswith("K_POINTS"))
    assert cards[i].split()[1] == "crystal" and int(cards[i + 1]) == 30
    k = np.array([[float(x) for x in c.split("!")[0].split()] for c in cards[i + 2:i + 32]])
    np.testing.assert_allclose(k[:, :3], bp.kpts, atol=1e-12)
    assert [c.split("!")[1].strip() for c in cards[i + 2:i + 32] if "!" in c] == ["G", "M", "K", "G"]
    assert "projwfc.in" in {p.name for p in tmp_path.iterdir()}
    assert "lsym = .false." in (tmp_path / "projwfc.in").read_text()
    run = (tmp_path / "run.sh").read_text()
    assert "mpirun -np 64 pw.x -nk 4 -in pw.in" in run and "mpirun -np 64 projwfc.x -nk 4 -in projwfc.in" in run


def test_qe_soc_warns_on_scalar_relativistic_pseudos(tmp_path):
    with pytest.warns(UserWarning, match="fully relativistic"):
        write_qe_inputs(heterostructure(), tmp_path, dict(BASE, pseudopotentials=PSEUDOS, soc=True))


@pytest.mark.parametrize("bad, match", [
    ({"pseudopotentials": {"Nb": "x.UPF"}}, "pseudopotentials"),
    ({"calculation": "bands"}, "kpath"),
    ({"hubbard_u_eV": {"Fe": 4.0}}, "hubbard_u_eV"),
    ({"vdw": "many-body"}, "vdw"),
])
def test_qe_bad_settings(tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        write_qe_inputs(heterostructure(), tmp_path, {**BASE, "pseudopotentials": PSEUDOS, **bad})


def test_inputs_record_labels_reach_the_parsed_bands(tmp_path):
    """A VASP band run written here and 'run' (a fixture's outputs copied in) gets the writer's labels."""
    import shutil

    from isingflow.dft.vasp import read_vasp_bands

    fixture = fixture_path("vasp/FeSe_line_mode")
    b0 = read_vasp_bands(fixture / "vasprun_line.xml")
    atoms = Atoms(b0.symbols, positions=b0.positions, cell=b0.cell, pbc=True)
    labels = [(0, "G"), (19, "M"), (69, "Z")]
    write_vasp_inputs(atoms, tmp_path, {"calculation": "bands", "kpath": {"kpts": b0.kpoints, "labels": labels}})
    shutil.copyfile(fixture / "vasprun_line.xml", tmp_path / "vasprun.xml")
    b = read_vasp_bands(tmp_path)
    assert b.path_labels == labels
    rec = json.loads((tmp_path / "isingflow_inputs.json").read_text())
    assert b.inputs_hash == rec["inputs_sha256"]


def test_one_kmesh_rule_for_every_code():
    """kpoints.kpoint_mesh: ASE's density rule in-plane, one k along z of a slab, periodic in z or not."""
    from isingflow.dft.kpoints import kpoint_mesh

    atoms = heterostructure(trilayer=False)    # a slab with vacuum
    open_z = atoms.copy()
    open_z.pbc = [True, True, False]           # how the pipeline builds its slabs (GPAW's input)
    expected = list(kptdensity2monkhorstpack(open_z, 4.0, even=False))
    assert kpoint_mesh(open_z, 4.0) == expected and expected[2] == 1
    closed_z = atoms.copy()
    closed_z.pbc = True                        # periodic in z, but a vacuum gap > 5 Å: still one k in z
    assert kpoint_mesh(closed_z, 4.0) == expected
    bulk = Atoms("Nb", cell=[3.0, 3.0, 3.0], pbc=True)
    assert kpoint_mesh(bulk, 4.0) == list(kptdensity2monkhorstpack(bulk, 4.0, even=False))


def test_hpc_inputs_write_three_steps(tmp_path):
    """dft.hpc.write_hpc_inputs: SCF, bands and SOC bands, with the band path's labels in the record."""
    from isingflow.dft.hpc import hpc_settings, write_hpc_inputs

    atoms = heterostructure(trilayer=False)
    dft = {"ecut_eV": 400.0, "kpt_density_per_inv_angstrom": 3.0, "smearing_eV": 0.05}
    common = hpc_settings("qe", dft, {"command": "pw.x", "pseudopotentials": PSEUDOS_REL}, "PBE", None)
    steps = write_hpc_inputs(atoms, "qe", tmp_path, common, "GMKG", 30)
    assert list(steps) == ["scf", "bands", "bands_soc"]
    rec = json.loads((tmp_path / "bands" / "isingflow_inputs.json").read_text())
    assert [lab for _, lab in rec["path_labels"]] == ["G", "M", "K", "G"] and rec["nkpts"] == 30
    assert json.loads((tmp_path / "bands_soc" / "isingflow_inputs.json").read_text())["soc"] is True
