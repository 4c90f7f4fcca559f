"""A plain-convolution ResNet sized for CPUs: stride-2 stem, basic blocks, global pool.

Dense 3x3 convolutions train several times faster per FLOP on XLA:CPU than the
depthwise ones of mini-Xception (BENCHMARKS.md, "Training throughput"), so a
ResNet with six times the parameters trains faster. Default: widths 32-64-128-256,
one basic block per stage, ~1.2M parameters, ~61 MFLOPs per 48x48 face.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx


class BasicBlock(nnx.Module):
  """Two 3x3 conv + batch-norm layers with an identity (or strided 1x1) shortcut."""

  def __init__(self, in_features: int, out_features: int, stride: int, *, dtype,
               rngs: nnx.Rngs):
    bn = dict(momentum=0.9, dtype=dtype, rngs=rngs)
    conv = dict(use_bias=False, dtype=dtype, rngs=rngs)
    self.conv1 = nnx.Conv(in_features, out_features, (3, 3), strides=stride, **conv)
    self.bn1 = nnx.BatchNorm(out_features, **bn)
    self.conv2 = nnx.Conv(out_features, out_features, (3, 3), **conv)
    # Zero-initialised last scale: each block starts as the identity.
    self.bn2 = nnx.BatchNorm(out_features, scale_init=nnx.initializers.zeros, **bn)
    self.project = stride != 1 or in_features != out_features
    if self.project:
      self.shortcut = nnx.Conv(in_features, out_features, (1, 1), strides=stride, **conv)
      self.bn_shortcut = nnx.BatchNorm(out_features, **bn)

  def __call__(self, x: jax.Array) -> jax.Array:
    y = nnx.relu(self.bn1(self.conv1(x)))
    y = self.bn2(self.conv2(y))
    shortcut = self.bn_shortcut(self.shortcut(x)) if self.project else x
    return nnx.relu(y + shortcut)


class ResNet(nnx.Module):
  """3x3 stride-2 stem (48 -> 24), stages of `blocks_per_stage` basic blocks.

  The first stage keeps the stem's resolution; each later stage halves it
  (24 -> 12 -> 6 -> 3 with four stages).
  """

  def __init__(self, num_classes: int, *, rngs: nnx.Rngs,
               widths: Sequence[int] = (32, 64, 128, 256), blocks_per_stage: int = 1,
               stem: int = 32, dropout: float = 0.2, dtype=jnp.float32):
    self.dtype = dtype
    self.stem = nnx.Conv(1, stem, (3, 3), strides=2, use_bias=False, dtype=dtype,
                         rngs=rngs)
    self.stem_bn = nnx.BatchNorm(stem, momentum=0.9, dtype=dtype, rngs=rngs)
    blocks, features = [], stem
    for stage, width in enumerate(widths):
      for i in range(blocks_per_stage):
        stride = 2 if stage > 0 and i == 0 else 1
        blocks.append(BasicBlock(features, width, stride, dtype=dtype, rngs=rngs))
        features = width
    self.blocks = nnx.List(blocks)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(features, num_classes, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    x = nnx.relu(self.stem_bn(self.stem(x.astype(self.dtype))))
    for block in self.blocks:
      x = block(x)
    x = jnp.mean(x, axis=(1, 2))
    return self.head(self.dropout(x)).astype(jnp.float32)
