"""A small generated stand-in for FER2013, for smoke tests without real data.

Class c shows horizontal stripes with c + 2 cycles per image height, a random
phase and contrast, plus noise: learnable by a small CNN, unchanged in kind by
flips, shifts and small rotations. Generation is deterministic per split.
"""

from __future__ import annotations

import numpy as np

from ferjax.labels import FACE_SIZE as IMAGE_SIZE
from ferjax.labels import NUM_CLASSES
_SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}


def make_split(split: str, size: int, num_classes: int = NUM_CLASSES) -> dict[str, np.ndarray]:
  """`size` images as {'image': (n, 48, 48, 1) uint8, 'label': int32, 'row': int32}."""
  if split not in _SPLIT_SEEDS:
    raise ValueError(f"unknown split {split!r}; choose from {', '.join(_SPLIT_SEEDS)}")
  rng = np.random.default_rng(_SPLIT_SEEDS[split])
  labels = (np.arange(size) % num_classes).astype(np.int32)
  rng.shuffle(labels)
  ys = np.arange(IMAGE_SIZE, dtype=np.float32)[None, :, None] / IMAGE_SIZE
  cycles = (labels + 2).astype(np.float32)[:, None, None]
  phase = rng.uniform(0, 2 * np.pi, (size, 1, 1)).astype(np.float32)
  amplitude = rng.uniform(40, 90, (size, 1, 1)).astype(np.float32)
  mean = rng.uniform(90, 160, (size, 1, 1)).astype(np.float32)
  stripes = np.sin(2 * np.pi * cycles * ys + phase) * amplitude + mean
  noise = rng.normal(0, 20, (size, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
  images = np.clip(np.broadcast_to(stripes, noise.shape) + noise, 0, 255)
  return {"image": images.astype(np.uint8)[..., None], "label": labels,
          "row": np.arange(size, dtype=np.int32)}
