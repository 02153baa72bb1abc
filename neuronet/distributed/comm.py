"""The MPI world of a data-parallel run: start it, ask where this process stands, end it.

mpi4py is imported by ``init()`` only (importing ``mpi4py.MPI`` starts MPI), so a
process that never calls it needs no MPI installed. Before ``init()`` (or without
mpiexec) ``rank()`` is 0 and ``size()`` is 1: code that guards its writing with
``if distributed.rank() == 0`` runs the same alone.

A rank whose exception is not caught must take the others down with it, or they wait
forever in their next collective: ``init()`` installs an excepthook that prints the
traceback (naming the rank) and then calls ``MPI_Abort``, which makes mpiexec end
every rank within a second or so, with the failing rank's status.
"""
import os
import sys
import time

# Set by the process managers: MPICH's Hydra (PMI_*), Open MPI, Slurm's srun (PMI_SIZE too).
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
_comm = None
_previous_hook = None


def launched_by_mpi():
    """True when this process was started by mpiexec/mpirun with more than one rank."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 1:
            return True
    return False


def init():
    """Start MPI (once; later calls do nothing) and install the abort-on-error hook.

    Raises ImportError naming the extra to install when mpi4py is missing."""
    global _comm, _previous_hook
    if _comm is not None:
        return
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError("neuronet.distributed needs mpi4py and an MPI library: "
                          "pip install 'neuronet[mpi]' (mpi4py with the MPICH wheel)") from error
    _comm = MPI.COMM_WORLD
    _previous_hook = sys.excepthook
    sys.excepthook = _abort_on_uncaught


def is_initialized():
    return _comm is not None


def world():
    """The communicator of all ranks (mpi4py's COMM_WORLD); init() must have run."""
    if _comm is None:
        raise RuntimeError("neuronet.distributed: call distributed.init() first")
    return _comm


def rank():
    """This process's rank, 0 .. size() - 1 (0 before init())."""
    return 0 if _comm is None else _comm.Get_rank()


def size():
    """The number of ranks (1 before init())."""
    return 1 if _comm is None else _comm.Get_size()


def local_size():
    """The number of ranks on this machine (1 before init())."""
    if _comm is None:
        return 1
    from mpi4py import MPI

    node = _comm.Split_type(MPI.COMM_TYPE_SHARED)
    count = node.Get_size()
    node.Free()
    return count


def barrier():
    if size() > 1:
        _comm.Barrier()


def broadcast_object(value, root=0):
    """``value`` of rank ``root`` on every rank (pickled: for small settings only)."""
    return value if size() == 1 else _comm.bcast(value, root=root)


def allgather_object(value):
    """[value of rank 0, value of rank 1, ...] on every rank (pickled; small values)."""
    return [value] if size() == 1 else _comm.allgather(value)


def allreduce_sum(array):
    """Sum the contiguous NumPy ``array`` over the ranks, in place, in one Allreduce."""
    if size() > 1:
        from mpi4py import MPI

        _comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
    return array


ABORT_GRACE_S = 0.5  # for mpirun to pass on what the rank printed last


def abort(status=1):
    """End every rank now with ``status`` (MPI_Abort); no return."""
    sys.stdout.flush()
    sys.stderr.flush()
    # mpirun forwards a rank's output after it was written, and MPI_Abort ends the job at
    # once: without the pause, a loaded machine lost the error that explains the abort
    time.sleep(ABORT_GRACE_S)
    _comm.Abort(status)


def exit_status(status):
    """A command's exit status; a failed one aborts the other ranks of a run (they may
    wait in a collective for this one), so that the whole job exits with it."""
    if status and size() > 1:
        abort(status)
    return status


def _abort_on_uncaught(kind, value, traceback):
    # the error first, in the one line that comes before the traceback: the abort can end
    # the job before mpirun has passed on the traceback's last lines
    print(f"neuronet.distributed: rank {rank()} of {size()} failed "
          f"({kind.__name__}: {value}); aborting all ranks", file=sys.stderr, flush=True)
    _previous_hook(kind, value, traceback)
    if size() > 1:
        abort(1)
