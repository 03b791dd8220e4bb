# GPAW build configuration used by `make setup` (exported as GPAW_CONFIG).
# Debian 12 packages: libxc-dev (exchange-correlation), libopenblas-dev (BLAS/LAPACK),
# libfftw3-dev (fast plane-wave FFTs).  No MPI compiler: serial build; for MPI on HPC
# use the conda environment (environment.yml) or your site's GPAW module.
fftw = True
scalapack = False
libraries = ['xc', 'fftw3', 'openblas']
