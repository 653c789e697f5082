"""nn.utils: spectral and weight normalisation (spectral_norm.py, weight_norm.py, and as
parametrizations in parametrizations.py, on parametrize.py), gradient clipping (clip.py)
and parameters as one vector (convert.py)."""
from . import parametrizations, parametrize
from .clip import clip_grad_norm_, clip_grad_value_
from .convert import parameters_to_vector, vector_to_parameters
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "parametrizations",
           "parametrize", "remove_spectral_norm", "remove_weight_norm", "spectral_norm",
           "vector_to_parameters", "weight_norm"]
