"""What fills the part of a photo's face crop that lies beyond the photo."""

import cv2
import numpy as np
import pytest

from ferjax import faces
from ferjax.data import npz, rafdb
from ferjax.faces import photo


def _photo_and_face():
  """A noise photo and a face box reaching 20 px past its left edge."""
  gray = np.random.default_rng(0).integers(40, 200, (100, 100), dtype=np.uint8)
  return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), faces.Detection((-20, 10, 60, 90), 0.9,
                                                                  None, "centerface")


@pytest.mark.parametrize("outside", photo.OUTSIDE_FILLS[1:])
def test_a_fill_changes_only_the_part_beyond_the_photo(outside):
  image, face = _photo_and_face()
  replicate = photo.crop_found(image, face).astype(int)
  filled = photo.crop_found(image, face, outside).astype(int)
  # The crop square is 1.x times the box about its centre (x = 20): its left third
  # lies beyond the photo, its right half inside.
  np.testing.assert_array_equal(filled[:, 26:], replicate[:, 26:])
  beyond, repeated = filled[:, :8], replicate[:, :8]
  if outside in ("grey", "white"):
    assert (beyond == (photo.PAD_VALUE if outside == "grey" else 255)).all()
  elif outside == "reflect":
    assert np.abs(beyond - repeated).mean() > 10  # Mirrored noise, not the edge column.
  else:  # blur: the repeated edge, smoothed down the rows.
    assert np.diff(beyond, axis=0).std() < 0.5 * np.diff(repeated, axis=0).std()


def test_replicate_is_the_crop_of_the_live_tool():
  image, face = _photo_and_face()
  np.testing.assert_array_equal(photo.crop_found(image, face), faces.crop_face(image, face))


def test_unknown_fill_is_refused():
  image, face = _photo_and_face()
  with pytest.raises(ValueError, match="expected one of replicate"):
    photo.crop_found(image, face, "sky")


def test_fill_by_name_is_fixed_and_spread():
  names = [f"train_{i:05d}_aligned.jpg" for i in range(500)]
  chosen = [photo.fill_for(n, photo.OUTSIDE_FILLS) for n in names]
  assert chosen == [photo.fill_for(n, photo.OUTSIDE_FILLS) for n in names]
  counts = [chosen.count(f) for f in photo.OUTSIDE_FILLS]
  assert min(counts) > 60 and max(counts) < 140
  assert photo.fill_for("x.jpg", ("replicate",)) == "replicate"


def test_only_training_crops_take_other_fills_in_a_prepared_npz(monkeypatch, tmp_path):
  from tests import data_fixtures as fx  # pylint: disable=g-import-not-at-top
  fx.write_rafdb_official(str(tmp_path))
  images = rafdb.find_images(str(tmp_path))
  used = {}

  def crop(self, image_bgr, outside="replicate"):
    used.setdefault(outside, 0)
    used[outside] += 1
    return np.zeros((48, 48), np.uint8), True

  monkeypatch.setattr(photo.PhotoFaces, "crop", crop)
  monkeypatch.setattr(photo, "fill_for", lambda name, fills: fills[-1])
  npz.prepare(tmp_path, tmp_path / "rafdb.npz", dataset="rafdb",
              train_fills=("replicate", "white"))
  splits = [i.split for i in images]
  assert used == {"white": splits.count("train"),
                  "replicate": len(images) - splits.count("train")}
  assert 0 < splits.count("train") < len(images)


def test_fill_names_as_a_user_gives_them():
  assert photo.parse_fills(["all"]) == photo.OUTSIDE_FILLS
  assert photo.parse_fills(["white", "grey"]) == ("white", "grey")
  for bad in (["sky"], ["white", "all"], []):
    with pytest.raises(ValueError, match="use 'all' or some of replicate"):
      photo.parse_fills(bad)


def test_without_a_face_the_whole_photo_is_the_crop():
  image, _ = _photo_and_face()
  np.testing.assert_array_equal(photo.crop_found(image, None, "white"),
                                photo.whole_image_face(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)))
