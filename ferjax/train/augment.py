"""Per-example image augmentation and batch mixing, run inside the jitted step.

Images are float32 pixels in [0, 255] with shape (B, H, W, 1), i.e. before
`ferjax.models.preprocess`. Every random draw comes from the key given for the
global batch, so results do not depend on how the batch is sharded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections


def affine_matrix(*, flip: jax.Array, angle: jax.Array, scale: jax.Array,
                  shift: jax.Array) -> jax.Array:
  """3x3 map from output (y, x) to input coordinates, centred on the image.

  `flip` (bool) mirrors left-right, `angle` is in radians, `scale` > 1 zooms in,
  `shift` is (dy, dx) in pixels.
  """
  cos, sin = jnp.cos(angle) / scale, jnp.sin(angle) / scale
  sign = jnp.where(flip, -1.0, 1.0)
  return jnp.array([[cos, -sin * sign, shift[0]],
                    [sin, cos * sign, shift[1]],
                    [0.0, 0.0, 1.0]])


def warp(image: jax.Array, matrix: jax.Array) -> jax.Array:
  """Bilinear resampling of one (H, W, C) image through `affine_matrix`; edges repeat."""
  height, width, channels = image.shape
  centre = jnp.array([(height - 1) / 2, (width - 1) / 2])
  ys, xs = jnp.meshgrid(jnp.arange(height, dtype=jnp.float32),
                        jnp.arange(width, dtype=jnp.float32), indexing="ij")
  coords = jnp.stack([ys.ravel() - centre[0], xs.ravel() - centre[1],
                      jnp.ones(height * width)])
  src = matrix @ coords
  src_y = src[0] + centre[0]
  src_x = src[1] + centre[1]
  out = [jax.scipy.ndimage.map_coordinates(image[..., c], [src_y, src_x], order=1,
                                           mode="nearest")
         for c in range(channels)]
  return jnp.stack(out, axis=-1).reshape(height, width, channels)


def flip_left_right(images: jax.Array) -> jax.Array:
  """Mirrors (..., H, W, C) images left-right."""
  return images[..., ::-1, :]


def augment_image(image: jax.Array, key: jax.Array,
                  config: ml_collections.ConfigDict) -> jax.Array:
  """One random geometric + photometric distortion of an (H, W, C) image."""
  k_flip, k_angle, k_scale, k_shift, k_bright, k_contrast = jax.random.split(key, 6)
  flip = config.flip & jax.random.bernoulli(k_flip)
  angle = jnp.deg2rad(config.rotate_degrees) * jax.random.uniform(
      k_angle, minval=-1.0, maxval=1.0)
  scale = 1.0 + config.scale * jax.random.uniform(k_scale, minval=-1.0, maxval=1.0)
  shift = config.shift_pixels * jax.random.uniform(k_shift, (2,), minval=-1.0,
                                                   maxval=1.0)
  image = warp(image, affine_matrix(flip=flip, angle=angle, scale=scale, shift=shift))
  brightness = 255.0 * config.brightness * jax.random.uniform(
      k_bright, minval=-1.0, maxval=1.0)
  contrast = 1.0 + config.contrast * jax.random.uniform(k_contrast, minval=-1.0,
                                                        maxval=1.0)
  mean = jnp.mean(image)
  image = (image - mean) * contrast + mean + brightness
  return jnp.clip(image, 0.0, 255.0)


def augment_batch(images: jax.Array, key: jax.Array,
                  config: ml_collections.ConfigDict) -> jax.Array:
  """`augment_image` on every image of a (B, H, W, C) batch, one key each."""
  keys = jax.random.split(key, images.shape[0])
  return jax.vmap(lambda im, k: augment_image(im, k, config))(images, keys)


def _cutmix_mask(key: jax.Array, lam: jax.Array, height: int, width: int) -> jax.Array:
  """(H, W, 1) float mask that is 0 inside a random box of area ~(1 - lam)."""
  k_y, k_x = jax.random.split(key)
  side = jnp.sqrt(1.0 - lam)
  cy = jax.random.uniform(k_y) * height
  cx = jax.random.uniform(k_x) * width
  ys = jnp.arange(height)[:, None]
  xs = jnp.arange(width)[None, :]
  inside = ((jnp.abs(ys - cy) < side * height / 2) &
            (jnp.abs(xs - cx) < side * width / 2))
  return jnp.where(inside, 0.0, 1.0)[..., None]


def mix_batch(images: jax.Array, targets: jax.Array, key: jax.Array, *,
              mixup_alpha: float, cutmix_alpha: float) -> tuple[jax.Array, jax.Array]:
  """Mixup or CutMix (chosen at random when both are on) with a shuffled copy.

  `targets` are (B, K) probabilities and are mixed in proportion to pixel area.
  """
  if mixup_alpha <= 0 and cutmix_alpha <= 0:
    return images, targets
  k_perm, k_lam, k_which, k_box = jax.random.split(key, 4)
  perm = jax.random.permutation(k_perm, images.shape[0])
  other_images, other_targets = images[perm], targets[perm]
  use_cutmix = (jax.random.bernoulli(k_which) if mixup_alpha > 0 and cutmix_alpha > 0
                else jnp.asarray(cutmix_alpha > 0))
  alpha = jnp.where(use_cutmix, max(cutmix_alpha, 1e-3), max(mixup_alpha, 1e-3))
  lam = jax.random.beta(k_lam, alpha, alpha)
  height, width = images.shape[1:3]
  cut = _cutmix_mask(k_box, lam, height, width)
  mask = jnp.where(use_cutmix, cut, jnp.full_like(cut, lam))
  images = mask * images + (1.0 - mask) * other_images
  area = jnp.mean(mask)
  targets = area * targets + (1.0 - area) * other_targets
  return images, targets


def smooth_labels(targets: jax.Array, smoothing: float) -> jax.Array:
  """Mixes (B, K) target distributions with the uniform distribution."""
  if smoothing <= 0:
    return targets
  return targets * (1.0 - smoothing) + smoothing / targets.shape[-1]


def _gaussian_blur(image: jax.Array, sigma: jax.Array, radius: int = 3) -> jax.Array:
  """Separable Gaussian blur of an (H, W, 1) image; sigma may be traced (0 = none)."""
  taps = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
  kernel = jnp.exp(-0.5 * (taps / jnp.maximum(sigma, 1e-3)) ** 2)
  kernel = kernel / kernel.sum()
  padded = jnp.pad(image[..., 0], radius, mode="edge")
  rows = sum(kernel[i] * padded[:, i:i + image.shape[1]] for i in range(2 * radius + 1))
  out = sum(kernel[i] * rows[i:i + image.shape[0]] for i in range(2 * radius + 1))
  return out[..., None]


def downsample_and_back(image: jax.Array, size: jax.Array) -> jax.Array:
  """An (H, W, C) face shrunk to `size` x `size` px (area filter) and enlarged back.

  `size` is a whole number of pixels (traced). The small image keeps the top-left
  corner; its edge pixels are repeated before enlarging so no dark border appears.
  """
  height, width, channels = image.shape
  scale = size / height
  shape = (height, width, channels)
  small = jax.image.scale_and_translate(image, shape, (0, 1), jnp.stack([scale, scale]),
                                        jnp.zeros(2), method="linear", antialias=True)
  inside = jnp.minimum(jnp.arange(height), size.astype(jnp.int32) - 1)
  small = small[inside][:, inside]
  return jax.image.scale_and_translate(small, shape, (0, 1),
                                       jnp.stack([1 / scale, 1 / scale]), jnp.zeros(2),
                                       method="linear", antialias=True)


def degrade_image(image: jax.Array, key: jax.Array,
                  config: ml_collections.ConfigDict) -> jax.Array:
  """What a classroom camera does to a face: fewer pixels, blur, noise, low contrast.

  Applied with probability `config.degrade`; face sizes are log-uniform in
  [min_face_px, 48].
  """
  k_apply, k_size, k_blur, k_noise, k_sigma, k_contrast = jax.random.split(key, 6)
  height = image.shape[0]
  log_size = jax.random.uniform(k_size, minval=jnp.log(config.min_face_px),
                                maxval=jnp.log(height + 1.0))
  size = jnp.clip(jnp.floor(jnp.exp(log_size)), config.min_face_px, height)
  out = downsample_and_back(image, size)
  out = _gaussian_blur(out, config.max_blur_sigma * jax.random.uniform(k_blur))
  noise_std = config.max_noise_std * jax.random.uniform(k_sigma)
  out = out + noise_std * jax.random.normal(k_noise, out.shape)
  contrast = jax.random.uniform(k_contrast, minval=config.min_contrast, maxval=1.0)
  mean = jnp.mean(out)
  out = jnp.clip((out - mean) * contrast + mean, 0.0, 255.0)
  return jnp.where(jax.random.bernoulli(k_apply, config.degrade), out, image)


def degrade_batch(images: jax.Array, key: jax.Array,
                  config: ml_collections.ConfigDict) -> jax.Array:
  """`degrade_image` on every image of a batch; a no-op when `config.degrade` is 0."""
  if config.get("degrade", 0.0) <= 0:
    return images
  keys = jax.random.split(key, images.shape[0])
  return jax.vmap(lambda im, k: degrade_image(im, k, config))(images, keys)
