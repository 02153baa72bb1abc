"""Fashion-MNIST the way ``keras.datasets.fashion_mnist`` hands it out."""
from neuronet import datasets


def load_data(path=None, download=True):
    """Fashion-MNIST's 60,000 training and 10,000 test images:
    ``(x_train, y_train), (x_test, y_test)``.

    Shapes and dtypes as in Keras: uint8 images (N, 28, 28) and uint8 labels (N,)
    in 0..9 (``CLASS_NAMES["fashion-mnist"]``). ``path`` (not in Keras) is a folder
    holding the four IDX files; by default they are looked for as
    ``neuronet.datasets.load_fashion_mnist`` looks for them, the Debian package's
    folder included.
    """
    return datasets.load_fashion_mnist(path=path, download=download)
