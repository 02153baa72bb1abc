"""Keras' ``keras.utils`` helpers that scripts reach for.

- ``to_categorical(y, num_classes)``: class indices to one-hot rows;
- ``pad_sequences(sequences, maxlen, ...)``: sequences of different lengths as one array;
- ``set_random_seed(seed)``: seeds neuronet, Python's ``random`` and NumPy at once;
- ``timeseries_windows(series, window, horizon)``: a series as (window -> target) pairs;
- ``PyDataset``: the base class of data sets that build batches in Python;
- ``plot_model(model, to_file)``: the layer graph as a picture (``model_graph`` lists it).
"""
from neuronet.utils.model_plot import GraphNode, model_graph, plot_model
from neuronet.utils.numerical import to_categorical
from neuronet.utils.py_dataset import PyDataset
from neuronet.utils.rng import set_random_seed
from neuronet.utils.sequence import pad_sequences
from neuronet.utils.timeseries import timeseries_windows
