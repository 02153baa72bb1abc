"""CIFAR-10 the way ``keras.datasets.cifar10`` hands it out."""
from neuronet import datasets


def load_data(path=None, download=True):
    """CIFAR-10's 50,000 training and 10,000 test colour images:
    ``(x_train, y_train), (x_test, y_test)``.

    Shapes and dtypes as in Keras: uint8 images (N, 32, 32, 3), channels last, and
    uint8 labels of shape (N, 1), a column as Keras gives them (``load_cifar10``
    gives (N,)); ``to_categorical`` drops that axis again. ``path`` (not in Keras)
    is a folder holding the binary version's batch files; by default they are
    looked for as ``neuronet.datasets.load_cifar10`` looks for them.
    """
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10(path=path, download=download)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))
