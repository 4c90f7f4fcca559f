"""Model zoo: every network takes `preprocess(images)` and returns logits.

    model = create_model("mini_xception", 7, rngs=nnx.Rngs(0))
    logits = model(preprocess(images_uint8))   # (B, 48, 48, 1) -> (B, 7)

`model.train()` / `model.eval()` switch dropout and batch-norm behaviour.
"""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp
from flax import nnx

from ferjax.labels import FACE_SIZE
from ferjax.models import mini_xception
from ferjax.models import resnet
from ferjax.models import vgg

IMAGE_SIZE = FACE_SIZE
# Fixed normalisation of [0, 1] pixels, close to the FER2013 mean and std.
PIXEL_MEAN = 0.5
PIXEL_STD = 0.25

_MODELS: dict[str, Callable[..., nnx.Module]] = {
    "mini_xception": mini_xception.MiniXception,
    "vgg": vgg.VGG,
    "resnet": resnet.ResNet,
}
MODEL_NAMES: tuple[str, ...] = tuple(_MODELS)


def preprocess(images: Any) -> jnp.ndarray:
  """THE input normalisation: pixels in [0, 255] (any dtype) -> float32 (B, 48, 48, 1).

  Accepts (B, 48, 48) or (B, 48, 48, 1). Training, evaluation and export all
  call this, so a model's forward pass always sees the same distribution.
  """
  x = jnp.asarray(images).astype(jnp.float32)
  if x.ndim == 3:
    x = x[..., None]
  return (x / 255.0 - PIXEL_MEAN) / PIXEL_STD


def create_model(name: str, num_classes: int, *, rngs: nnx.Rngs,
                 **kwargs: Any) -> nnx.Module:
  """Builds the model `name` (one of MODEL_NAMES); kwargs go to its constructor."""
  if name not in _MODELS:
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
  return _MODELS[name](num_classes, rngs=rngs, **kwargs)
