"""Start ranks: ``neuronet train --workers N`` runs ``mpiexec -n N python -m neuronet ...``.

Each rank gets one thread (neuronet's and BLAS's) unless told otherwise, so N ranks
on N cores do not fight over them; ``NEURONET_NUM_THREADS`` chooses another count.
Ranks started by hand (``mpirun -n N neuronet train``) take the cores of their machine
divided among the ranks on it.
"""
import os
import shutil
import subprocess
import sys

from neuronet.distributed import comm

THREADS_VARIABLE = "NEURONET_NUM_THREADS"
_BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def mpiexec():
    """The path of mpiexec: beside this Python (the ``mpi`` extra's MPICH puts it in the
    environment's bin), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.access(here, os.X_OK) else shutil.which("mpiexec")
    if found is None:
        raise OSError("no mpiexec found beside Python or on PATH: pip install "
                      "'neuronet[mpi]' (MPICH) or apt-get install mpich")
    return found


def run_ranks(count, arguments, env=None, **kwargs):
    """Run ``python arguments...`` on ``count`` ranks, one thread each by default;
    returns the CompletedProcess (kwargs go to ``subprocess.run``)."""
    env = dict(os.environ if env is None else env)
    threads = env.setdefault(THREADS_VARIABLE, "1")
    for name in _BLAS_VARIABLES:
        env.setdefault(name, threads)
    command = [mpiexec(), "-n", str(count), sys.executable, *arguments]
    return subprocess.run(command, env=env, **kwargs)


def threads_per_rank(cores):
    """neuronet's threads in one rank: ``NEURONET_NUM_THREADS``, else the ``cores`` of
    the machine shared among its ranks."""
    given = os.environ.get(THREADS_VARIABLE, "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    return max(1, cores // comm.local_size())


def start_rank():
    """Join the MPI run this process was started in, with ``threads_per_rank`` threads
    for neuronet and for BLAS."""
    from threadpoolctl import threadpool_limits

    from neuronet import parallel

    comm.init()
    threads = threads_per_rank(parallel._available_cores())
    parallel.set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")
