"""gans: generative adversarial networks built only from the public minigrad API.

Submodules are imported explicitly (``import gans.data``), so importing the package
itself is cheap and does not pull in minigrad.
"""
