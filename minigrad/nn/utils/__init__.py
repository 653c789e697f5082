"""nn.utils: spectral normalisation (spectral_norm.py) and gradient clipping (clip.py)."""
from .clip import clip_grad_norm_, clip_grad_value_
from .spectral_norm import remove_spectral_norm, spectral_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "remove_spectral_norm", "spectral_norm"]
