"""VASP: output readers (:mod:`.read`, :mod:`.outcar`, :mod:`.procar`) and the input writer (:mod:`.write`)."""
from isingflow.dft.vasp.outcar import read_eigenval, read_outcar
from isingflow.dft.vasp.procar import read_procar
from isingflow.dft.vasp.read import read_vasp_bands, zero_weight_path
from isingflow.dft.vasp.write import vasp_incar, write_vasp_inputs

__all__ = ["read_vasp_bands", "read_outcar", "read_eigenval", "read_procar", "zero_weight_path",
           "write_vasp_inputs", "vasp_incar"]
