"""MNIST the way ``keras.datasets.mnist`` hands it out."""
from neuronet import datasets


def load_data(path=None, download=True):
    """MNIST's 60,000 training and 10,000 test digits: ``(x_train, y_train), (x_test, y_test)``.

    Shapes and dtypes as in Keras: uint8 images (N, 28, 28) in 0..255 and uint8
    labels (N,) in 0..9. Unlike Keras, ``path`` is a folder holding the four IDX
    files (not the name of an .npz in the cache); files are looked for as
    ``neuronet.datasets.load_mnist`` looks for them.
    """
    return datasets.load_mnist(path=path, download=download)
