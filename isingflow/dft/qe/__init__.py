"""Quantum ESPRESSO: output readers (:mod:`.read`, :mod:`.xml`, :mod:`.pwout`, :mod:`.projwfc`) and the
input writer (:mod:`.write`)."""
from isingflow.dft.qe.projwfc import read_atomic_proj, read_projwfc_output
from isingflow.dft.qe.pwout import read_pw_output
from isingflow.dft.qe.read import read_qe_bands
from isingflow.dft.qe.write import write_qe_inputs
from isingflow.dft.qe.xml import read_qe_xml

__all__ = ["read_qe_bands", "read_qe_xml", "read_pw_output", "read_atomic_proj", "read_projwfc_output",
           "write_qe_inputs"]
