"""Small helpers for the thin entry points in ``scripts/`` (logging into the rule's log)."""
from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path

# set in the ranks of a rule script relaunched by mpi_relaunch (and read by it to not recurse)
_RELAUNCHED = "ISINGFLOW_MPI_RANKS"


def mpi_rank() -> int:
    """This process's MPI rank, from the launcher's environment (0 outside MPI)."""
    names = ("PMIX_RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK") + (("SLURM_PROCID",) if _RELAUNCHED in os.environ else ())
    for name in names:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def mpi_relaunch(smk) -> None:
    """Run this rule script again under MPI when its job asks for ranks (`resources: mpi, tasks`).

    Snakemake runs a `script:` rule as one Python process; the Slurm executor only allocates
    `tasks` ranks, and `mpi` names the launcher (e.g. "srun").  This replaces the process
    with `<mpi> -n <tasks> python <this script>` (GPAW's MPI backend on), so every rank runs the
    script and GPAW parallelises over them.  A no-op without `mpi`, with tasks < 2, inside the
    relaunched ranks, or when GPAW is built without MPI (then a warning: one core is used).
    """
    launcher, tasks = smk.resources.get("mpi"), int(smk.resources.get("tasks") or 1)
    if _RELAUNCHED in os.environ:
        # one of the ranks: GPAW's MPI world must be set up before ASE touches its own (ASE's
        # file I/O would fix ASE's world at size 1, and GPAW then refuses to run in parallel)
        import gpaw.mpi  # noqa: F401
        return
    if not launcher or tasks < 2:
        return
    log = logging.getLogger("isingflow")
    from gpaw import cgpaw

    if not cgpaw.have_mpi:
        log.warning("the job has %d MPI ranks (resources mpi=%r, tasks=%d) but this GPAW is built "
                    "without MPI: running serially on one of them", tasks, launcher, tasks)
        return
    argv = [*shlex.split(str(launcher)), "-n", str(tasks), sys.executable, sys.argv[0]]
    log.info("relaunching on %d MPI ranks: %s", tasks, " ".join(argv))
    for handler in log.handlers:
        handler.flush()
    os.execvpe(argv[0], argv, dict(os.environ, **{_RELAUNCHED: str(tasks), "GPAW_MPI_BACKEND": "cgpaw"}))


def setup_logging(log_path: str | None, append: bool = False) -> logging.Logger:
    """Send ``logging`` output and uncaught tracebacks to the rule's log file."""
    logger = logging.getLogger("isingflow")
    logger.setLevel(logging.INFO)
    if mpi_rank() > 0:
        handler: logging.Handler = logging.NullHandler()  # rank 0 writes the rule's log
    elif log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        # the ranks of a relaunched script append to what the first process logged
        handler = logging.FileHandler(log_path, mode="a" if append or _RELAUNCHED in os.environ else "w")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.handlers[:] = [handler]

    def _excepthook(exc_type, exc, tb):
        logger.error("uncaught exception", exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = _excepthook
    return logger
