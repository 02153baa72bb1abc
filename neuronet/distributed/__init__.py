"""Data-parallel training over MPI (mpi4py), with Horovod's API.

Every rank (process) holds the whole model; each trains on its part of every batch,
and the gradients are averaged over the ranks before each step, so all ranks make the
same update and N ranks with ``batch_size`` train as one process with
``batch_size * N`` on the same order of samples.

    from neuronet import distributed
    distributed.init()                     # under mpiexec -n N python train.py
    model.compile(optimizer=distributed.DistributedOptimizer(optimizers.Adam(1e-3)), ...)
    model.fit(x, y, batch_size=32)         # 32 per rank; fit broadcasts rank 0's weights
    if distributed.rank() == 0:
        model.save("model.safetensors")

``fit`` does all of it itself once ``init()`` has run (it wraps the optimizer if needed;
see ``neuronet.distributed.fitting`` for the rules: sharding, averaged logs, rank 0
writing). ``neuronet train --workers N`` (or ``mpirun -n N neuronet train``) runs a
training run this way. Needs the ``mpi`` extra: ``pip install 'neuronet[mpi]'``.
"""
from neuronet.distributed.broadcast import broadcast_weights
from neuronet.distributed.comm import (
    barrier, broadcast_object, init, is_initialized, launched_by_mpi, rank, size)
from neuronet.distributed.optimizer import DistributedOptimizer
