"""Data files and batching: IDX and CIFAR-10 binary readers, verified downloads, mini-batches.

Data knows no models: nothing here imports layers or models. The data sets
themselves (``load_fashion_mnist`` etc.) live in ``neuronet.datasets``.
"""
from neuronet.data.batching import ArrayBatches, batches, num_batches
from neuronet.data.cifar import read_cifar_batch
from neuronet.data.errors import DatasetError
from neuronet.data.idx import read_idx, write_idx
