"""Keras 3 ``.keras`` files: ``load_keras`` reads them (needs h5py: the extra
'keras-files'); see ``reading`` for the format and what is refused."""
from neuronet.io.keras.errors import KerasFileError
from neuronet.io.keras.reading import load_keras
