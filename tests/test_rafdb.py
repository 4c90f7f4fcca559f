"""RAF-DB: both folder layouts, label mapping, the fixed validation hold-out, bad input."""

import os

import numpy as np
import pytest

from ferjax.data import npz, rafdb
from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS
from tests import data_fixtures as fx

SHARED_RAFDB = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets",
                            "rafdb")
EXPECTED = {name: EMOTIONS.index(rafdb.RAF_LABELS[label]) for name, label in fx.RAF_ENTRIES}


def test_label_order_maps_to_ferjax_emotions():
  assert [EMOTIONS[rafdb.to_emotion_index(str(i), "x")] for i in range(1, 8)] == [
      "surprise", "fear", "disgust", "happy", "sad", "angry", "neutral"]


@pytest.mark.parametrize("layout", ["official", "repackaged"])
def test_both_layouts_give_the_same_images(tmp_path, layout):
  if layout == "official":
    fx.write_rafdb_official(str(tmp_path))
  else:
    fx.write_rafdb_repackaged(str(tmp_path))
  images = rafdb.find_images(tmp_path)
  assert {i.name: i.label for i in images} == EXPECTED
  assert all(os.path.isfile(i.path) for i in images)
  assert {i.split for i in images if i.name.startswith("test")} == {"test"}
  assert {i.split for i in images if i.name.startswith("train")} <= {"train", "validation"}


def test_validation_hold_out_is_fixed_and_about_ten_percent():
  names = [f"train_{i:05d}.jpg" for i in range(1, 5001)]
  held = [n for n in names if rafdb.split_of(n) == "validation"]
  assert 0.08 < len(held) / len(names) < 0.12
  # Decided by the name alone, so a shuffled or partial copy holds out the same files.
  shuffled = list(np.random.default_rng(0).permutation(names[:2000]))
  assert sorted(n for n in shuffled if rafdb.split_of(n) == "validation") == [
      n for n in held if n in set(names[:2000])]


def test_missing_label_file_says_what_to_download(tmp_path):
  (tmp_path / "empty").mkdir()
  with pytest.raises(DataError, match="list_patition_label.txt.*\n.*RAF-DB is not downloaded"):
    rafdb.find_images(tmp_path / "empty")


def test_label_outside_1_to_7_names_file_and_line(tmp_path):
  fx.write_rafdb_official(str(tmp_path), entries=fx.RAF_ENTRIES + (("train_00009.jpg", 8),))
  with pytest.raises(DataError, match=r"list_patition_label.txt:7: label '8'"):
    rafdb.find_images(tmp_path)


def test_listed_image_that_is_absent_is_named(tmp_path):
  fx.write_rafdb_official(str(tmp_path), missing=("train_00003.jpg",))
  with pytest.raises(DataError, match=r":3: image train_00003.jpg is listed"):
    rafdb.find_images(tmp_path)


def test_repackaged_bad_label_names_csv_line(tmp_path):
  fx.write_rafdb_repackaged(str(tmp_path))
  with open(tmp_path / "train_labels.csv", "a") as f:
    f.write("train_00010_aligned.jpg,0\n")
  with pytest.raises(DataError, match=r"train_labels.csv:6: label '0'"):
    rafdb.find_images(tmp_path)


def test_npz_holds_live_framed_crops_per_split(tmp_path):
  fx.write_rafdb_official(str(tmp_path / "manual"))
  path = npz.prepare(tmp_path / "manual", tmp_path / "rafdb.npz", dataset="rafdb")
  seen = {}
  for split in rafdb.SPLITS:
    arrays = npz.load_split(path, split, "rafdb")
    assert arrays["image"].shape[1:] == (48, 48, 1) and arrays["image"].dtype == np.uint8
    seen.update(dict(zip(arrays["name"].tolist(), arrays["label"].tolist())))
  assert seen == EXPECTED
  with pytest.raises(DataError, match="holds rafdb, not fer2013"):
    npz.load_split(path, "train", "fer2013")


@pytest.mark.skipif(not os.path.isdir(SHARED_RAFDB),
                    reason="RAF-DB not found in ../shared/datasets/rafdb")
def test_real_rafdb_training_images():
  images = rafdb.find_images(SHARED_RAFDB)
  assert len(images) == 12_271
  counts = np.bincount([i.label for i in images], minlength=7)
  assert counts[EMOTIONS.index("happy")] == 4_772
  assert counts[EMOTIONS.index("fear")] == 281
  assert sum(i.split == "validation" for i in images) == 1_248  # The fixed hold-out.


@pytest.mark.parametrize("layout", ["official", "repackaged"])
def test_tfds_builder_splits_both_layouts(tmp_path, layout):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from ferjax.data import loader  # pylint: disable=g-import-not-at-top
  manual = tmp_path / "manual"
  manual.mkdir()
  if layout == "official":
    fx.write_rafdb_official(str(manual))
  else:
    fx.write_rafdb_repackaged(str(manual))
  seen = {}
  for split in rafdb.SPLITS:
    try:
      dataset = loader.load_tfds("rafdb", split, data_dir=str(tmp_path / "data"),
                                 manual_dir=str(manual))
    except DataError:  # A split with no images in this tiny tree.
      continue
    for example in tfds.as_numpy(dataset):
      assert example["image"].shape == (48, 48, 1)
      name = example["name"].decode()
      assert rafdb.split_of(name) == split
      seen[name] = int(example["label"])
  assert seen == EXPECTED
