"""GPAW, the embedded default DFT code: ground state (:mod:`.ground_state`), bands along a path
(:mod:`.bands`), band unfolding (:mod:`.unfold`) and reading a ``.gpw`` file (:mod:`.read`)."""
from isingflow.dft.gpaw.bands import run_band_structure
from isingflow.dft.gpaw.ground_state import SCFNotConverged, gpaw_parameters, run_ground_state
from isingflow.dft.gpaw.read import read_gpw_bands
from isingflow.dft.gpaw.unfold import unfold_setup

__all__ = ["SCFNotConverged", "gpaw_parameters", "run_ground_state", "run_band_structure", "read_gpw_bands",
           "unfold_setup"]
