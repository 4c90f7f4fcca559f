"""ferjax: facial-expression recognition in JAX/Flax, from training to a live classroom camera."""

__version__ = "0.1.0"
