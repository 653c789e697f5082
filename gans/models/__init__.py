"""GAN architectures: the MLP GAN of Goodfellow et al. 2014 and the DCGAN of Radford et al.
2015, for 28x28 and 64x64 single-channel images, and their class-conditional versions
(Mirza & Osindero 2014; the projection discriminator of Miyato & Koyama 2018)."""
from .conditional import (ConditionalDCGANDiscriminator, ConditionalDCGANGenerator,
                          ConditionalMLPDiscriminator, ConditionalMLPGenerator)
from .dcgan import DCGANDiscriminator, DCGANGenerator, weights_init
from .mlp import MLPDiscriminator, MLPGenerator

__all__ = ["ConditionalDCGANDiscriminator", "ConditionalDCGANGenerator",
           "ConditionalMLPDiscriminator", "ConditionalMLPGenerator", "DCGANDiscriminator",
           "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "weights_init", "build"]


def build(model: str, image_size: int = 28, z_dim: int = 100, channels: int = 1,
          d_norm: str = "batch", spectral_norm: bool = False, width: int = 64):
    """(G, D) for model 'mlp' or 'dcgan'."""
    if model == "mlp":            # the MLP discriminator has no normalisation option
        return (MLPGenerator(z_dim, image_size, channels),
                MLPDiscriminator(image_size, channels, spectral_norm=spectral_norm))
    if model == "dcgan":
        return (DCGANGenerator(z_dim, image_size, channels, width),
                DCGANDiscriminator(image_size, channels, width, norm=d_norm,
                                   spectral_norm=spectral_norm))
    raise ValueError(f"unknown model {model!r}: choose 'mlp' or 'dcgan'")
