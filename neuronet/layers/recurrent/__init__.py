"""Recurrent layers: SimpleRNN, LSTM, GRU (one shared loop, ``base.RNN``) and
Bidirectional."""
from neuronet.layers.recurrent.base import RNN
from neuronet.layers.recurrent.layers import GRU, LSTM, SimpleRNN
from neuronet.layers.recurrent.bidirectional import Bidirectional

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional"]
