"""Checkpoints: safetensors weights with a JSON document; atomic writes; no pickle."""
from neuronet.io.checkpoint import load_model, load_weights, save_model, save_weights
from neuronet.io.files import CheckpointError, load_tensors, save_tensors, write_atomic
