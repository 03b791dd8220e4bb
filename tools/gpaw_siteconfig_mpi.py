# GPAW build with MPI (Open MPI), used by tests/test_mpi.py to check that a DFT job given
# `resources: mpi, tasks` really runs on that many ranks.  Same libraries as gpaw_siteconfig.py;
# build with  CC=mpicc OMPI_CC=g++ GPAW_CONFIG=tools/gpaw_siteconfig_mpi.py  (Debian: openmpi-bin
# libopenmpi-dev).  The C++ bindings of MPI are not used by GPAW and are skipped.
fftw = True
scalapack = False
mpi = True
compiler = 'mpicc'  # Open MPI's wrapper; OMPI_CC=g++ makes it compile GPAW's C++ sources
libraries = ['xc', 'fftw3', 'openblas']
define_macros += [('OMPI_SKIP_MPICXX', '1'), ('MPICH_SKIP_MPICXX', '1')]  # noqa: F821 - GPAW's namespace
