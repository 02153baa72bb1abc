"""Models: ``Sequential`` stacks of layers and subclassable ``Model``s, with Keras'
training API (``compile``, ``fit``, ``evaluate``, ``predict``, ``summary``)."""
from neuronet.models.model import Model
from neuronet.models.sequential import Sequential
from neuronet.io import load_model
from neuronet.models.functional import Functional
from neuronet.io.keras import load_keras
