"""The accuracy network: a VGG-style stack of 3x3 conv + batch-norm stages.

Four stages of two convolutions (64-128-256-512 channels) with max-pooling,
then global pooling and a two-layer head; about 4.8M parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from ferjax.models import layers


class ConvBN(nnx.Module):
  """3x3 convolution, batch-norm, ReLU."""

  def __init__(self, in_features: int, out_features: int, *, dtype, rngs: nnx.Rngs):
    self.conv = nnx.Conv(in_features, out_features, (3, 3), use_bias=False,
                         dtype=dtype, rngs=rngs)
    self.bn = nnx.BatchNorm(out_features, momentum=0.9, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return nnx.relu(self.bn(self.conv(x)))


class VGG(nnx.Module):
  """`convs_per_stage` ConvBN layers per stage, 2x2 max-pool after each stage."""

  def __init__(self, num_classes: int, *, rngs: nnx.Rngs,
               widths: Sequence[int] = (64, 128, 256, 512), convs_per_stage: int = 2,
               hidden: int = 256, dropout: float = 0.4, dtype=jnp.float32):
    self.dtype = dtype
    layers = []
    features = 1
    for width in widths:
      stage = []
      for _ in range(convs_per_stage):
        stage.append(ConvBN(features, width, dtype=dtype, rngs=rngs))
        features = width
      layers.append(nnx.List(stage))
    self.stages = nnx.List(layers)
    self.dropout1 = nnx.Dropout(dropout, rngs=rngs)
    self.hidden = nnx.Linear(features, hidden, dtype=dtype, rngs=rngs)
    self.dropout2 = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(hidden, num_classes, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    x = x.astype(self.dtype)
    for stage in self.stages:
      for layer in stage:
        x = layer(x)
      x = layers.max_pool_2x2(x)
    x = jnp.mean(x, axis=(1, 2))
    x = nnx.relu(self.hidden(self.dropout1(x)))
    return self.head(self.dropout2(x)).astype(jnp.float32)
