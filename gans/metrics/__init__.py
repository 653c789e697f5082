"""Measuring a GAN: FID (with a differentiable Frechet distance), Inception Score, KID,
precision/recall, mode coverage and diversity, on feature networks built with minigrad.

    frechet.py     frechet_distance, fid_from_features (numpy); fid_differentiable (minigrad)
    sqrtm.py       sqrtm_psd, sylvester, trace_sqrtm: matrix square roots with backward
    scores.py      inception_score, kid, precision_recall, mode_coverage, ssim, diversity
    classifier.py  the shipped MNIST classifier (MNIST-FID, MNIST-IS, class histogram)
    inception.py   Inception-v3 as used for FID, loading pytorch-fid's weights (converted)
    evaluate.py    samples -> features -> numbers; cli.py: `python -m gans evaluate`
    monitor.py     the training hook (TrainConfig.eval_every)

Reference values measured with the shipped classifier are in docs/metrics.md.
"""
from .classifier import MNISTClassifier, load_classifier
from .frechet import (fid_differentiable, fid_from_features, frechet_distance,
                      frechet_distance_differentiable, gaussian_stats)
from .inception import FIDInceptionV3, load_inception
from .scores import diversity, inception_score, kid, mode_coverage, precision_recall, ssim
from .sqrtm import sqrtm_psd, sylvester, trace_sqrtm

__all__ = ["FIDInceptionV3", "MNISTClassifier", "diversity", "fid_differentiable",
           "fid_from_features", "frechet_distance", "frechet_distance_differentiable",
           "gaussian_stats", "inception_score", "kid", "load_classifier", "load_inception",
           "mode_coverage", "precision_recall", "sqrtm_psd", "ssim", "sylvester",
           "trace_sqrtm"]
