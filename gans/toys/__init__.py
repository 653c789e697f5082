"""Small systems you can watch: the course's convergence and mode-collapse pictures.

    dirac.py       Dirac-GAN (Mescheder et al. 2018): vector fields and trajectories of
                   seven training methods in the (theta, psi) plane
    bilinear.py    min_x max_y x*y: simultaneous steps spiral out, alternating steps orbit
    mixtures.py    ring of 8 / grid of 25 Gaussians, MLP GANs, mode metrics, GAN-Lab frames
    baseline.py    the per-pixel Gaussian "generator" of MNIST, and why it fails
    blas.py        `with blas_threads(1):` small matrices run faster on one BLAS thread

Each has an example script in examples/ that writes its pictures.
"""
