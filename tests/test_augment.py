"""Augmentation: shapes, ranges, determinism, and that the geometry is right."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ferjax.train import augment
from ferjax.train import config_lib


def _images(n=6):
  rng = np.random.default_rng(0)
  return jnp.asarray(rng.integers(0, 256, (n, 48, 48, 1)).astype(np.float32))


def _config(**overrides):
  config = config_lib.base_config().augment
  config.update(overrides)
  return ml_collections.FrozenConfigDict(config)  # Hashable: a static argument of _augment.


# Compiled whole, as in the train step (op-by-op dispatch compiles every op on its own).
_augment = jax.jit(augment.augment_batch, static_argnums=2)
_warp = jax.jit(augment.warp)


def test_batch_shape_dtype_range_and_determinism():
  images = _images()
  out = _augment(images, jax.random.key(0), _config())
  again = _augment(images, jax.random.key(0), _config())
  other = _augment(images, jax.random.key(1), _config())
  assert out.shape == images.shape and out.dtype == jnp.float32
  assert 0.0 <= float(out.min()) and float(out.max()) <= 255.0
  np.testing.assert_array_equal(out, again)
  assert not np.allclose(out, other)
  assert not np.allclose(out, images)


def test_identity_when_disabled():
  config = _config(flip=False, rotate_degrees=0.0, scale=0.0, shift_pixels=0.0,
                   brightness=0.0, contrast=0.0)
  images = _images()
  np.testing.assert_allclose(_augment(images, jax.random.key(3), config),
                             images, atol=1e-3)


def test_flip_really_flips():
  image = _images(1)[0]
  matrix = augment.affine_matrix(flip=jnp.array(True), angle=0.0, scale=1.0,
                                 shift=jnp.zeros(2))
  flipped = _warp(image, matrix)
  np.testing.assert_allclose(flipped, image[:, ::-1], atol=1e-4)
  np.testing.assert_array_equal(augment.flip_left_right(image), image[:, ::-1])
  # With only flips on, every output is the image or its mirror, and both occur.
  config = _config(rotate_degrees=0.0, scale=0.0, shift_pixels=0.0, brightness=0.0,
                   contrast=0.0)
  out = _augment(jnp.repeat(image[None], 32, 0), jax.random.key(0), config)
  same = [bool(np.allclose(o, image, atol=1e-3)) for o in out]
  mirrored = [bool(np.allclose(o, image[:, ::-1], atol=1e-3)) for o in out]
  assert all(s or m for s, m in zip(same, mirrored))
  assert any(same) and any(mirrored)


def test_shift_moves_content():
  image = _images(1)[0]
  matrix = augment.affine_matrix(flip=jnp.array(False), angle=0.0, scale=1.0,
                                 shift=jnp.array([3.0, -2.0]))
  out = _warp(image, matrix)
  np.testing.assert_allclose(out[:-3, 2:], image[3:, :-2], atol=1e-4)


def test_mix_batch_keeps_distributions():
  images = _images(8)
  targets = jax.nn.one_hot(jnp.arange(8) % 7, 7)
  for mixup, cutmix in ((0.4, 0.0), (0.0, 1.0), (0.4, 1.0)):
    out, mixed = augment.mix_batch(images, targets, jax.random.key(2),
                                   mixup_alpha=mixup, cutmix_alpha=cutmix)
    assert out.shape == images.shape
    np.testing.assert_allclose(mixed.sum(-1), 1.0, atol=1e-5)
    assert float(mixed.max()) < 1.0  # Something was mixed in.
  same, same_targets = augment.mix_batch(images, targets, jax.random.key(2),
                                         mixup_alpha=0.0, cutmix_alpha=0.0)
  assert same is images and same_targets is targets


def test_smooth_labels():
  targets = jax.nn.one_hot(jnp.array([0, 3]), 4)
  smoothed = augment.smooth_labels(targets, 0.2)
  np.testing.assert_allclose(smoothed[0], [0.85, 0.05, 0.05, 0.05], atol=1e-6)
  np.testing.assert_allclose(smoothed.sum(-1), 1.0, atol=1e-6)  # Still distributions.
  # Soft targets (mixup, FER+ votes) are smoothed the same way.
  soft = jnp.array([[0.6, 0.4, 0.0, 0.0]])
  np.testing.assert_allclose(augment.smooth_labels(soft, 0.2), [[0.53, 0.37, 0.05, 0.05]],
                             atol=1e-6)
  assert augment.smooth_labels(targets, 0.0) is targets  # Off means untouched.
