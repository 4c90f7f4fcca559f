"""The TFDS builders, on tiny synthetic copies of the official layouts."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ferjax.data import fer2013, loader
from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS, FERPLUS_EMOTIONS
from tests import data_fixtures as fx


def _load_all(name, split, data_dir, manual_dir, config=None):
  dataset = loader.load_tfds(name, split, data_dir=str(data_dir),
                             manual_dir=str(manual_dir), config=config)
  return list(tfds.as_numpy(dataset))


def _files_under(path):
  return [os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs]


def test_fer2013_builder_splits_and_pixels(tmp_path):
  rows = list(fx.fer2013_rows())
  fx.write_fer2013_archive(str(tmp_path / "manual"), fx.fer2013_csv_text(rows))
  for split, usage in fer2013.SPLITS.items():
    examples = sorted(_load_all("fer2013", usage, tmp_path / "data", tmp_path / "manual"),
                      key=lambda e: e["row"])
    expected_rows = [i for i, r in enumerate(rows) if r[2] == split]
    assert [e["row"] for e in examples] == expected_rows
    for e in examples:
      assert e["image"].shape == (48, 48, 1) and e["image"].dtype == np.uint8
      np.testing.assert_array_equal(e["image"][..., 0], rows[e["row"]][1])
      assert e["label"] == rows[e["row"]][0]
  info = tfds.builder("fer2013", data_dir=str(tmp_path / "data")).info
  assert info.features["label"].names == list(EMOTIONS)


def test_ferplus_builder_majority_labels_and_dropped_rows(tmp_path):
  rows = list(fx.fer2013_rows())
  fx.write_fer2013_archive(str(tmp_path / "manual"), fx.fer2013_csv_text(rows))
  # File column order: neutral happiness surprise sadness anger disgust fear contempt unknown NF
  votes = [[0] * 10 for _ in rows]
  votes[0][1] = 10          # happiness
  votes[1][9] = 10          # not a face -> dropped
  votes[2][0], votes[2][3] = 5, 5   # tie -> dropped
  votes[3][7] = 8; votes[3][0] = 2  # contempt
  for i in range(4, len(rows)):
    votes[i][0] = 10        # neutral
  fx.write_ferplus_csv(str(tmp_path / "manual"), votes)
  train = {e["row"]: e for e in _load_all("ferplus", "train", tmp_path / "data",
                                           tmp_path / "manual")}
  assert sorted(train) == [0, 3, 9]  # training rows 1 and 2 were dropped
  assert train[0]["label"] == FERPLUS_EMOTIONS.index("happy")
  assert train[3]["label"] == FERPLUS_EMOTIONS.index("contempt")
  assert train[9]["label"] == FERPLUS_EMOTIONS.index("neutral")
  assert train[0]["votes"][fer2013.VOTE_NAMES.index("happy")] == 10
  np.testing.assert_array_equal(train[3]["image"][..., 0], rows[3][1])


def test_kdef_builder_configs_and_features(tmp_path):
  fx.write_kdef_tree(str(tmp_path / "manual"))
  straight = _load_all("kdef", "test", tmp_path / "data", tmp_path / "manual")
  assert len(straight) == 2 * 3  # subjects x expressions, straight only
  by_name = {e["filename"].decode(): e for e in straight}
  e = by_name["AF01AFS.JPG"]
  assert e["label"] == EMOTIONS.index("fear")  # AF = afraid
  assert (e["subject"], e["session"], e["gender"], e["angle"]) == (
      b"AF01", b"A", b"F", b"straight")
  assert e["image"].shape == (30, 40, 3)
  assert by_name["BM02HAS.JPG"]["label"] == EMOTIONS.index("happy")
  everything = _load_all("kdef", "test", tmp_path / "data", tmp_path / "manual",
                         config="all_angles")
  assert len(everything) == 2 * 3 * 3
  assert {e["angle"] for e in everything} == {b"straight", b"half_left", b"full_right"}


def test_jaffe_builder(tmp_path):
  fx.write_jaffe_tree(str(tmp_path / "manual"))
  examples = {e["filename"].decode(): e
              for e in _load_all("jaffe", "test", tmp_path / "data", tmp_path / "manual")}
  assert sorted(examples) == ["KA.AN1.39.tiff", "KA.HA2.30.tiff", "NA.FE1.219.tiff",
                              "YM.SU3.60.tiff"]
  ka = examples["KA.AN1.39.tiff"]
  assert ka["label"] == EMOTIONS.index("angry") and ka["subject"] == b"KA"
  assert ka["image"].shape == (32, 32, 1)
  assert examples["NA.FE1.219.tiff"]["label"] == EMOTIONS.index("fear")


@pytest.mark.parametrize("name", ["fer2013", "ferplus", "kdef", "jaffe"])
def test_missing_manual_dir_prints_instructions_and_leaves_nothing(tmp_path, name):
  with pytest.raises(DataError, match="manual|not downloaded automatically") as error:
    loader.load_tfds(name, "test", data_dir=str(tmp_path / "data"),
                     manual_dir=str(tmp_path / "nowhere"))
  assert "not downloaded automatically" in str(error.value)
  assert _files_under(tmp_path / "data" / name) == []


def test_malformed_csv_fails_cleanly_with_no_half_written_data(tmp_path):
  text = fx.fer2013_csv_text(fx.fer2013_rows(4)) + "3,1 2 3,Training\n"
  fx.write_fer2013_archive(str(tmp_path / "manual"), text)
  with pytest.raises(DataError, match=r"fer2013.csv:6: expected 2304 pixels"):
    loader.load_tfds("fer2013", "train", data_dir=str(tmp_path / "data"),
                     manual_dir=str(tmp_path / "manual"))
  assert not os.path.exists(tmp_path / "data" / "fer2013")


def test_unreadable_image_is_named_and_nothing_is_left(tmp_path):
  kdef_dir = fx.write_kdef_tree(str(tmp_path / "manual"))
  broken = os.path.join(kdef_dir, "AF01", "AF01ANS.JPG")
  with open(broken, "wb") as f:
    f.write(b"\xff\xd8 truncated")
  with pytest.raises(DataError, match="AF01ANS.JPG: unreadable image"):
    loader.load_tfds("kdef", "test", data_dir=str(tmp_path / "data"),
                     manual_dir=str(tmp_path / "manual"))
  assert not os.path.exists(tmp_path / "data" / "kdef")


def test_unknown_dataset_name(tmp_path):
  with pytest.raises(DataError, match="unknown dataset 'affectnet'"):
    loader.load_tfds("affectnet", "test", data_dir=str(tmp_path))
