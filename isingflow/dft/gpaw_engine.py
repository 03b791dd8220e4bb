"""GPAW engine: the embedded default DFT code of the pipeline.

Recipe functions in the style of quacc: each takes an ASE ``Atoms`` (or a ``.gpw`` restart
file) and a plain ``settings`` dict (one profile's ``dft`` section of the config), runs GPAW
and returns plain data.  Every file is written atomically.

Settings keys (units in the names; see ``workflow/schemas/profile.schema.yaml``):
``mode`` (``lcao`` | ``pw``), ``basis``, ``ecut_eV``, ``grid_spacing_angstrom``,
``kpt_density_per_inv_angstrom``, ``smearing_eV``, ``band_path_points``,
``scf_energy_tol_eV``, ``scf_density_tol``, ``maxiter``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import kptdensity2monkhorstpack

from isingflow.dft.bandfile import BandStructure
from isingflow.provenance import atomic_path, hash_object, provenance


class SCFNotConverged(RuntimeError):
    """The self-consistent cycle did not converge: never a result."""


def monkhorst_pack_size(atoms: Atoms, kpt_density_per_inv_angstrom: float) -> tuple[int, int, int]:
    """Monkhorst–Pack mesh for ``atoms`` from a k-point density (points per 1/Å, 2π included).

    Non-periodic directions get one k-point.
    """
    size = kptdensity2monkhorstpack(atoms, kptdensity=kpt_density_per_inv_angstrom, even=False)
    return tuple(int(n) if p else 1 for n, p in zip(size, atoms.pbc))


def is_magnetic(atoms: Atoms) -> bool:
    return bool(np.any(np.abs(atoms.get_initial_magnetic_moments()) > 1e-8))


def gpaw_parameters(atoms: Atoms, settings: dict[str, Any], xc: str = "PBE",
                    hubbard_u_eV: dict[str, float] | None = None,
                    dipole_correction: bool | None = None) -> dict[str, Any]:
    """Keyword arguments of ``gpaw.GPAW`` for a ground state of ``atoms`` with ``settings``.

    ``hubbard_u_eV`` maps element → U (eV, applied to the d shell); ``dipole_correction``
    switches on GPAW's dipole layer (for asymmetric slabs; off by default). A calculation is
    spin-polarised when any initial magnetic moment of ``atoms`` is non-zero.
    """
    from gpaw import PW, FermiDirac

    mode = settings["mode"]
    params: dict[str, Any] = {
        "xc": xc,
        "kpts": {"size": monkhorst_pack_size(atoms, settings["kpt_density_per_inv_angstrom"]),
                 "gamma": True},
        "occupations": FermiDirac(settings["smearing_eV"]),
        "convergence": {"energy": settings["scf_energy_tol_eV"],
                        "density": settings["scf_density_tol"]},
        "maxiter": settings["maxiter"],
        "h": settings["grid_spacing_angstrom"],
        "spinpol": is_magnetic(atoms),
    }
    if mode == "lcao":
        params["mode"] = "lcao"
        params["basis"] = settings["basis"]
    elif mode == "pw":
        params["mode"] = PW(settings["ecut_eV"])
        params.pop("h")
    else:
        raise ValueError(f"settings['mode']: unknown GPAW mode {mode!r} (lcao or pw)")
    if params["spinpol"] and settings.get("mixer_beta"):
        # magnetic metallic slabs: a gentler density mixing (with the magnetisation mixed as
        # part of the total density, MixerSum) avoids the moment wandering between iterations
        from gpaw import MixerSum

        params["mixer"] = MixerSum(beta=settings["mixer_beta"], nmaxold=5, weight=50.0)
    if hubbard_u_eV:
        params["setups"] = {el: f":d,{u}" for el, u in hubbard_u_eV.items()}
    if dipole_correction and not all(atoms.pbc):
        params["poissonsolver"] = {"dipolelayer": "xy"}
    return params


def run_ground_state(atoms: Atoms, settings: dict[str, Any], gpw_path: str | os.PathLike,
                     txt: str | os.PathLike | None = "-", xc: str = "PBE",
                     hubbard_u_eV: dict[str, float] | None = None,
                     dipole_correction: bool | None = None,
                     cache_dir: str | os.PathLike | None = None,
                     mesh_bands_path: str | os.PathLike | None = None,
                     atom_layers: list[int] | None = None) -> dict[str, Any]:
    """Self-consistent ground state of ``atoms``; writes the ``.gpw`` restart file.

    With ``cache_dir``, every converged ``.gpw`` is also kept there under the hash of its
    inputs (structure + GPAW parameters); a later call with the same inputs (e.g. after the
    job was killed and Snakemake removed its incomplete outputs) reloads it instead of
    repeating the SCF.  An unconverged SCF raises :class:`SCFNotConverged`.

    With ``mesh_bands_path`` the eigenvalues on the irreducible SCF k-mesh, with their weights
    and per-atom projections (and ``atom_layers``), are written as a normalised band file: enough
    for Fermi-surface averages (e.g. λex of every variant of an ensemble) without a band job.

    Returns a summary: total energy (eV), Fermi level (eV), total and per-atom magnetic
    moments (µB), k-mesh, the number of SCF iterations and the inputs' hash.
    """
    from gpaw import GPAW, KohnShamConvergenceError

    gpw_path = Path(gpw_path)
    params = gpaw_parameters(atoms, settings, xc=xc, hubbard_u_eV=hubbard_u_eV,
                             dipole_correction=dipole_correction)
    inputs_hash = hash_object({"atoms": _atoms_fingerprint(atoms), "params": _jsonable(params)})
    cached = Path(cache_dir) / f"gs-{inputs_hash[:20]}.gpw" if cache_dir is not None else None
    reused = cached is not None and cached.is_file()
    if reused:
        calc = GPAW(str(cached), txt=str(txt) if txt is not None else None)
        energy = calc.get_potential_energy()
    else:
        atoms = atoms.copy()
        calc = GPAW(txt=str(txt) if txt is not None else None, **params)
        atoms.calc = calc
        try:
            energy = atoms.get_potential_energy()
        except KohnShamConvergenceError as exc:
            raise SCFNotConverged(f"GPAW SCF did not converge in {settings['maxiter']} iterations "
                                  f"(energy tol {settings['scf_energy_tol_eV']} eV, density tol "
                                  f"{settings['scf_density_tol']}): {exc}") from exc
        if cached is not None:
            with atomic_path(cached) as tmp:
                calc.write(str(tmp))
    if mesh_bands_path is not None:
        from isingflow.dft.bandfile import write_bands

        write_bands(mesh_bands_path, _mesh_bands(calc, atom_layers, inputs_hash, reused))
    if cached is not None:
        _link_or_copy(cached, gpw_path)
    else:
        with atomic_path(gpw_path) as tmp:
            calc.write(str(tmp))
    magmoms = calc.get_magnetic_moments() if params["spinpol"] else np.zeros(len(atoms))
    z_angstrom, v_planar_eV = planar_average_potential(calc)
    vac_bottom, vac_top = vacuum_levels(z_angstrom, v_planar_eV, calc.get_atoms().positions[:, 2])
    return {
        "vacuum_level_bottom_eV": vac_bottom,
        "vacuum_level_top_eV": vac_top,
        "work_function_bottom_eV": vac_bottom - float(calc.get_fermi_level()),
        "work_function_top_eV": vac_top - float(calc.get_fermi_level()),
        "planar_potential": {"z_angstrom": np.round(z_angstrom, 4).tolist(),
                             "v_eV": np.round(v_planar_eV, 5).tolist()},
        "energy_eV": float(energy),
        "fermi_level_eV": float(calc.get_fermi_level()),
        "magmom_total_muB": float(calc.get_magnetic_moment()) if params["spinpol"] else 0.0,
        "magmoms_muB": [float(m) for m in magmoms],
        "kpts_size": list(params["kpts"]["size"]),
        "scf_iterations": 0 if reused else int(calc.get_number_of_iterations()),
        "reused_converged_gpw": bool(reused),
        "spin_polarized": bool(params["spinpol"]),
        "inputs_hash": inputs_hash,
        "gpaw_parameters": _jsonable(params),
    }


def planar_average_potential(calc) -> tuple[np.ndarray, np.ndarray]:
    """Planar (xy) average of the electrostatic potential along z: (z in Å, V in eV)."""
    v = np.asarray(calc.get_electrostatic_potential())
    cell_z = float(calc.get_atoms().cell[2, 2])
    nz = v.shape[2]
    return np.arange(nz) * cell_z / nz, v.mean(axis=(0, 1))


def vacuum_levels(z_angstrom: np.ndarray, v_eV: np.ndarray, atom_z_angstrom: np.ndarray,
                  clearance_angstrom: float = 3.0) -> tuple[float, float]:
    """Vacuum level below and above a slab: the plateau value of the planar potential.

    The plateau is taken as the median of V(z) over the points more than
    ``clearance_angstrom`` away from every atom on each side (excluding the cell edge,
    where a zero boundary condition pins V).  With a dipole correction the two differ.
    """
    zmin, zmax = atom_z_angstrom.min(), atom_z_angstrom.max()
    edge = 0.5
    below = (z_angstrom < zmin - clearance_angstrom) & (z_angstrom > edge)
    above = (z_angstrom > zmax + clearance_angstrom) & (z_angstrom < z_angstrom[-1] - edge)
    if not below.any() or not above.any():
        raise ValueError("vacuum too thin to read the vacuum level: increase vacuum_angstrom")
    return float(np.median(v_eV[below])), float(np.median(v_eV[above]))


def band_path_for(atoms: Atoms, path: str, npoints: int):
    """ASE ``BandPath`` along ``path`` (special-point letters) for the 2D/3D cell of ``atoms``."""
    return atoms.cell.bandpath(path, npoints=npoints, pbc=atoms.pbc)


def run_band_structure(gpw_path: str | os.PathLike, path: str, npoints: int,
                       soc: bool, txt: str | os.PathLike | None = "-",
                       magnetisation_theta_phi_deg: tuple[float, float] = (0.0, 0.0),
                       extra_bands: int = 8, projections: bool = True,
                       atom_layers: list[int] | None = None,
                       supercell_matrix: np.ndarray | None = None,
                       unfold_atoms: list[int] | None = None) -> BandStructure:
    """Non-self-consistent bands along ``path`` on the converged density of ``gpw_path``.

    With ``soc`` the spin–orbit eigenstates (``gpaw.spinorbit.soc_eigenstates``) are
    computed, with the magnetisation along (θ, φ) for magnetic systems, and the result carries
    the per-state spin expectation ⟨σ⟩.  With ``projections`` every state carries its weight
    on every atom; ``atom_layers`` (default: the ``layer`` array of the structure, if any)
    lets later stages sum them per layer.

    Band unfolding: with ``supercell_matrix`` M (integer, supercell cell = M · primitive cell)
    the path is drawn in the *primitive* zone (e.g. the 1×1 NbSe2 zone of a 2×2 NbSe2/CrBr3
    cell), each primitive k is folded into the supercell zone for the calculation, and every
    state gets the spectral weight of the primitive k-point it was computed for
    (``unfold_weights``, LCAO mode, collinear bands).  ``unfold_atoms`` are the atoms of the
    sublattice that is periodic in the primitive cell (e.g. the NbSe2 atoms); the other atoms
    are projected out, so a weight near 1 means "a NbSe2 state of this primitive k".  The Fermi level is that of the self-consistent
    k-mesh (with SOC applied on that mesh when ``soc`` is true), not of the path.
    """
    from gpaw import GPAW
    from gpaw.spinorbit import soc_eigenstates

    gs = GPAW(str(gpw_path), txt=None)
    atoms = gs.get_atoms()
    nocc = int(np.ceil(gs.get_number_of_electrons() / 2))
    extra_bands = max(extra_bands, nocc // 4)   # large cells: empty states up to ~1-2 eV above E_F
    nbands = nocc + extra_bands
    unfold = supercell_matrix is not None
    if unfold:
        M = np.array(supercell_matrix, dtype=int)
        primitive_cell = np.linalg.solve(M, np.array(atoms.cell))
        from ase.cell import Cell

        bandpath = Cell(primitive_cell).bandpath(path, npoints=npoints, pbc=atoms.pbc)
        kpts_calc = bandpath.kpts @ M.T
    else:
        bandpath = band_path_for(atoms, path, npoints)
        kpts_calc = bandpath
    calc = gs.fixed_density(kpts=kpts_calc, symmetry="off", nbands=nbands,
                            convergence={"bands": nocc + extra_bands // 2},
                            txt=str(txt) if txt is not None else None)
    labels = _path_labels(bandpath)
    theta, phi = magnetisation_theta_phi_deg
    common = dict(kpoints=np.asarray(kpts_calc if unfold else bandpath.kpts), cell=np.array(atoms.cell), symbols=atoms.get_chemical_symbols(),
                  positions=atoms.get_positions(), path_labels=labels, code="gpaw",
                  code_version=_gpaw_version(), inputs_hash=_file_hash_short(gpw_path))
    if atom_layers is None and "layer" in atoms.arrays:
        atom_layers = atoms.arrays["layer"].tolist()
    common["atom_layers"] = list(atom_layers) if atom_layers is not None else None
    nis = [setup.ni for setup in calc.setups]
    if soc:
        soc_path = soc_eigenstates(calc, theta=theta, phi=phi)
        soc_mesh = soc_eigenstates(gs, theta=theta, phi=phi)
        eig = soc_path.eigenvalues()[np.newaxis]
        spins = soc_path.spin_projections()
        proj = None
        if projections:
            proj = np.stack([soc_path.pdos_weights(a, list(range(ni))).sum(axis=-1)
                             for a, ni in enumerate(nis)], axis=-1)[np.newaxis]
            proj /= np.maximum(proj.sum(axis=-1, keepdims=True), 1e-30)
        return BandStructure(eigenvalues=eig, fermi_level=float(soc_mesh.fermi_level), soc=True,
                             spin_expectation=spins, projections=proj, **common)
    nspins = calc.get_number_of_spins()
    nk = len(bandpath.kpts)
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(nk)] for s in range(nspins)])
    proj = _collinear_projections(calc, nspins, nk, len(atoms)) if projections else None
    if unfold:
        common.update(unfold_weights=unfold_weights(calc, M, bandpath.kpts, unfold_atoms, nspins),
                      kpoints_primitive=bandpath.kpts, primitive_cell=primitive_cell)
    return BandStructure(eigenvalues=eig, fermi_level=float(gs.get_fermi_level()), soc=False,
                         projections=proj, **common)


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
    spos = atoms.get_scaled_positions(wrap=True)
    nao_a = [setup.nao for setup in calc.setups]
    offsets = np.concatenate([[0], np.cumsum(nao_a)])
    translations = primitive_translations(M)
    inv = np.linalg.inv(M)
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


def _collinear_projections(calc, nspins: int, nk: int, natoms: int) -> np.ndarray:
    """Weight of each collinear Kohn–Sham state on each atom, ``[spin, k, band, atom]``.

    The weights are the squared PAW-projector overlaps Σ_i |⟨p̃_ai|ψ̃_n⟩|² of each atom,
    normalised to one per state: a robust "which atom/layer does this state live on" measure
    for LCAO and plane waves alike.
    """
    ibzwfs = calc.dft.ibzwfs
    out = None
    for wfs in ibzwfs:
        P = wfs.P_ani
        w = np.stack([(np.abs(P[a]) ** 2).sum(axis=-1) for a in range(natoms)], axis=-1)
        if out is None:
            out = np.zeros((nspins, nk, w.shape[0], natoms))
        out[wfs.spin, wfs.k] = w
    out /= np.maximum(out.sum(axis=-1, keepdims=True), 1e-30)
    return out


def _mesh_bands(calc, atom_layers, inputs_hash: str, reloaded: bool) -> BandStructure:
    """Eigenvalues, weights and projections on the SCF's irreducible k-mesh."""
    if reloaded:  # a reloaded .gpw holds no wave functions: recompute them on the fixed density
        calc = calc.fixed_density(kpts=calc.get_ibz_k_points(), symmetry="off", txt=None)
    atoms = calc.get_atoms()
    ibz = calc.get_ibz_k_points()
    nspins = calc.get_number_of_spins()
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(len(ibz))] for s in range(nspins)])
    proj = _collinear_projections(calc, nspins, len(ibz), len(atoms))
    weights = calc.get_k_point_weights()
    return BandStructure(eigenvalues=eig, kpoints=ibz, fermi_level=float(calc.get_fermi_level()),
                         weights=np.asarray(weights), cell=np.array(atoms.cell),
                         symbols=atoms.get_chemical_symbols(), positions=atoms.get_positions(),
                         projections=proj, atom_layers=list(atom_layers) if atom_layers is not None else None,
                         magmoms=calc.get_magnetic_moments() if nspins == 2 else None,
                         code="gpaw", code_version=_gpaw_version(), inputs_hash=inputs_hash[:16],
                         provenance=provenance(inputs_hash=inputs_hash))


def read_gpw_bands(gpw_path: str | os.PathLike) -> BandStructure:
    """Eigenvalues on the irreducible k-mesh stored in a GPAW ``.gpw`` file."""
    from gpaw import GPAW

    gpw_path = Path(gpw_path)
    try:
        calc = GPAW(str(gpw_path), txt=None)
    except Exception as exc:  # noqa: BLE001 - GPAW raises many types for a bad file
        raise ValueError(f"{gpw_path}: cannot read GPAW restart file: {exc}") from exc
    atoms = calc.get_atoms()
    ibz = calc.get_ibz_k_points()
    nspins = calc.get_number_of_spins()
    eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(len(ibz))] for s in range(nspins)])
    magmoms = calc.get_magnetic_moments() if nspins == 2 else None
    return BandStructure(eigenvalues=eig, kpoints=ibz, fermi_level=float(calc.get_fermi_level()),
                         weights=calc.get_k_point_weights(), cell=np.array(atoms.cell),
                         symbols=atoms.get_chemical_symbols(), positions=atoms.get_positions(),
                         magmoms=magmoms, code="gpaw", code_version=_gpaw_version(),
                         source=str(gpw_path))


# -- helpers ---------------------------------------------------------------------------------
def _link_or_copy(src: Path, dst: str | os.PathLike) -> None:
    """Put ``src`` at ``dst`` atomically (hard link where possible, else a copy)."""
    import shutil

    with atomic_path(dst) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)

def _path_labels(bandpath) -> list[tuple[int, str]]:
    _, xspecial, labels = bandpath.get_linear_kpoint_axis()
    x, _, _ = bandpath.get_linear_kpoint_axis()
    out = []
    for xs, lab in zip(xspecial, labels):
        idx = int(np.argmin(np.abs(x - xs)))
        out.append((idx, "G" if lab in ("G", "Γ") else lab))
    return out


def _gpaw_version() -> str:
    import gpaw

    return gpaw.__version__


def _file_hash_short(path) -> str:
    from isingflow.provenance import hash_file

    return hash_file(path)[:16]


def _atoms_fingerprint(atoms: Atoms) -> dict:
    return {"numbers": atoms.numbers.tolist(), "positions": np.round(atoms.positions, 6).tolist(),
            "cell": np.round(np.array(atoms.cell), 6).tolist(), "pbc": atoms.pbc.tolist(),
            "magmoms": np.round(atoms.get_initial_magnetic_moments(), 4).tolist()}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "todict"):
        return {"name": type(obj).__name__, **_jsonable(obj.todict())}
    return repr(obj)
