"""Band unfolding in plane-wave mode against LCAO, on tiny 2×1 supercells of an H monolayer (seconds)."""
from __future__ import annotations

import numpy as np
from ase import Atoms

from isingflow.dft.gpaw.bands import run_band_structure
from isingflow.dft.gpaw.unfold import subset_height_mask

A_ANGSTROM = 2.2
M_2X1 = np.diag([2, 1, 1])


def _h_layer(height_angstrom: float) -> Atoms:
    cell = [[A_ANGSTROM, 0, 0], [-A_ANGSTROM / 2, A_ANGSTROM * 3 ** 0.5 / 2, 0], [0, 0, height_angstrom]]
    return Atoms("H", cell=cell, pbc=[True, True, False], positions=[[0, 0, 3.0]]).repeat((2, 1, 1))


def _unfolded(atoms, mode, tmp_path, subset):
    from gpaw import GPAW, PW

    atoms = atoms.copy()
    atoms.calc = GPAW(mode=PW(250) if mode == "pw" else "lcao", basis="dzp", kpts=(3, 6, 1), h=0.25, xc="PBE",
                      occupations={"name": "fermi-dirac", "width": 0.1}, symmetry="off",
                      txt=str(tmp_path / f"{mode}.txt"))
    atoms.get_potential_energy()
    atoms.calc.write(tmp_path / f"{mode}.gpw", mode="all")
    return run_band_structure(tmp_path / f"{mode}.gpw", "GMKG", 8, soc=False, txt=None, projections=True,
                              supercell_matrix=M_2X1, unfold_atoms=subset, extra_bands=4)


def _dir(tmp_path, name):
    (tmp_path / name).mkdir()
    return tmp_path / name


def _separated(b, band, gap_eV=0.2):
    """k-points where ``band`` is at least ``gap_eV`` from its neighbours (no degenerate mixing)."""
    e = b.eigenvalues[0]
    ok = np.ones(len(e), bool)
    for other in (band - 1, band + 1):
        if 0 <= other < e.shape[1]:
            ok &= np.abs(e[:, band] - e[:, other]) > gap_eV
    return ok


def test_pw_unfolding_matches_lcao_on_a_2x1_supercell(tmp_path):
    atoms = _h_layer(6.0)
    w = {mode: _unfolded(atoms, mode, _dir(tmp_path, mode), None) for mode in ("lcao", "pw")}
    for band in (0, 1):   # the primitive H band, folded twice into the 2×1 zone
        ok = _separated(w["lcao"], band) & _separated(w["pw"], band)
        assert ok.sum() >= 4
        wl, wp = (w[m].unfold_weights[0, ok, band] for m in ("lcao", "pw"))
        assert np.max(np.abs(wl - wp)) < 0.05, (band, wl, wp)
        assert wp.min() < 0.05 and wp.max() > 0.95   # both the state of this k_p and the folded partner


def test_pw_unfolding_projects_onto_the_subset_layer(tmp_path):
    """An H layer (periodic in the primitive cell) with one Li atom per 2×1 cell 3.5 Å above it: unfolding
    onto the H atoms keeps the H band's weights and gives the Li-like states little weight."""
    atoms = _h_layer(9.0) + Atoms("Li", positions=[[A_ANGSTROM / 2, A_ANGSTROM * 3 ** 0.5 / 4, 6.5]])
    mask = subset_height_mask(atoms, [0, 1], (1, 1, 90))
    assert mask[:30].all() and not mask[60:].any()     # H plane at z = 3, Li at 6.5: midpoint 4.75 Å
    b = {mode: _unfolded(atoms, mode, _dir(tmp_path, mode), [0, 1]) for mode in ("lcao", "pw")}
    ok = _separated(b["lcao"], 0) & _separated(b["pw"], 0)
    assert ok.sum() >= 4
    wl, wp = (b[m].unfold_weights[0, ok, 0] for m in ("lcao", "pw"))
    assert np.max(np.abs(wl - wp)) < 0.05, (wl, wp)
    # Li-like states up to 1 eV above E_F (PAW-sphere weight on Li > 0.9): little weight on the H zone;
    # the diffuse Li 2s tail inside the H slab gives up to 0.21 (LCAO, projecting on H orbitals: 0.0)
    pw = b["pw"]
    li = (pw.projections[0, :, :, 2] > 0.9) & (pw.eigenvalues[0] < pw.fermi_level + 1.0)
    assert li.sum() >= 8
    assert np.median(pw.unfold_weights[0][li]) < 0.1
    assert np.max(pw.unfold_weights[0][li]) < 0.3
