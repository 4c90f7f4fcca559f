"""Classroom-camera degradation: on-device training augmentation, eval's --face_px and
--roll_degrees."""

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ferjax.evaluation import evaluator
from ferjax.train import augment
from ferjax.train import config_lib


def _face(seed=0):
  """A smooth random 48x48 face-sized image (float32 0..255)."""
  rng = np.random.default_rng(seed)
  return cv2.resize(rng.integers(0, 256, (12, 12)).astype(np.float32), (48, 48),
                    interpolation=cv2.INTER_LINEAR)


@pytest.mark.parametrize("size", [12, 16, 24])
def test_device_downsampling_matches_the_eval_shrink(size):
  """The training degradation reproduces what eval's --face_px (OpenCV) does."""
  face = _face()
  ours = np.asarray(augment.downsample_and_back(jnp.asarray(face[..., None]),
                                                jnp.float32(size)))[..., 0]
  reference = evaluator.shrink_face(face, size)
  change = np.abs(reference - face).mean()
  assert change > 4.0  # Grey levels lost by shrinking.
  assert np.abs(ours - reference).mean() < 0.5 * change
  assert np.abs(ours[-4:, -4:] - face[-4:, -4:]).mean() < 40  # No dark border.


def test_full_size_is_unchanged():
  face = _face(1)
  np.testing.assert_allclose(np.asarray(augment.downsample_and_back(
      jnp.asarray(face[..., None]), jnp.float32(48)))[..., 0], face, atol=1e-3)
  np.testing.assert_array_equal(evaluator.shrink_face(face.astype(np.uint8), 48),
                                face.astype(np.uint8))


@pytest.mark.slow(8)
def test_degrade_batch_share_and_range():
  config = config_lib.base_config().augment
  images = jnp.asarray(np.stack([_face(i) for i in range(64)])[..., None])
  assert augment.degrade_batch(images, jax.random.PRNGKey(0), config) is images  # off
  config.degrade = 0.5
  out = np.asarray(augment.degrade_batch(images, jax.random.PRNGKey(0), config))
  assert out.shape == images.shape and out.min() >= 0 and out.max() <= 255
  changed = np.abs(out - np.asarray(images)).mean(axis=(1, 2, 3)) > 1.0
  assert 0.3 < changed.mean() < 0.7  # About half of the faces.
  config.degrade = 1.0
  again = augment.degrade_batch(images, jax.random.PRNGKey(0), config)
  np.testing.assert_array_equal(np.asarray(again),
                                np.asarray(augment.degrade_batch(
                                    images, jax.random.PRNGKey(0), config)))


def test_bad_degradation_settings_are_config_errors():
  config = config_lib.base_config()
  config.augment.min_face_px = 60
  with pytest.raises(config_lib.ConfigError, match="min_face_px"):
    config_lib.validate(config)
  config = config_lib.base_config()
  config.augment.degrade = 1.5
  with pytest.raises(config_lib.ConfigError, match="augment.degrade"):
    config_lib.validate(config)


def test_roll_turns_the_face_counter_clockwise_and_back():
  face = np.zeros((48, 48), np.uint8)
  face[10:14, 30:34] = 255  # A bright dot up and to the right of the centre.
  rolled = evaluator.roll_face(face, 90.0)
  ys, xs = np.nonzero(rolled > 128)
  assert ys.mean() < 20 and xs.mean() < 18  # Now up and to the left (centre 23.5).
  assert np.array_equal(evaluator.roll_face(face, 0.0), face)
  smooth = _face(2).astype(np.uint8)
  back = evaluator.roll_face(evaluator.roll_face(smooth, 20.0), -20.0)
  inner = (slice(12, 36), slice(12, 36))
  assert np.abs(back[inner].astype(int) - smooth[inner]).mean() < 4


def test_degrade_face_rolls_then_shrinks():
  face = _face(3).astype(np.uint8)
  np.testing.assert_array_equal(
      evaluator.degrade_face(face, 16, 15.0),
      evaluator.shrink_face(evaluator.roll_face(face, 15.0), 16))
  np.testing.assert_array_equal(evaluator.degrade_face(face), face)
