"""The TensorFlow-free .npz loader of FER2013 / FER+."""

import os
import subprocess
import sys

import numpy as np
import pytest

from ferjax.data import fer2013, loader, npz
from ferjax.data.errors import DataError
from tests import data_fixtures as fx


@pytest.fixture
def manual_dir(tmp_path):
  rows = list(fx.fer2013_rows())
  fx.write_fer2013_archive(str(tmp_path / "manual"), fx.fer2013_csv_text(rows))
  votes = [[10, 0, 0, 0, 0, 0, 0, 0, 0, 0] for _ in rows]
  votes[4] = [0] * 9 + [10]  # a validation row that is not a face
  fx.write_ferplus_csv(str(tmp_path / "manual"), votes)
  return tmp_path / "manual", rows


def test_npz_round_trip_matches_parser(manual_dir, tmp_path):
  directory, rows = manual_dir
  path = npz.prepare(directory, tmp_path / "out" / "fer.npz")
  for split, usage in fer2013.SPLITS.items():
    arrays = loader.load_arrays("fer2013", usage, npz_path=path)
    expected = [i for i, r in enumerate(rows) if r[2] == split]
    np.testing.assert_array_equal(arrays["row"], expected)
    assert arrays["image"].shape == (len(expected), 48, 48, 1)
    np.testing.assert_array_equal(arrays["image"][..., 0], [rows[i][1] for i in expected])
    np.testing.assert_array_equal(arrays["label"], [rows[i][0] for i in expected])


def test_npz_ferplus_drops_rows_like_the_builder(manual_dir, tmp_path):
  directory, _ = manual_dir
  path = npz.prepare(directory, tmp_path / "fer.npz")
  validation = npz.load_split(path, "validation", "ferplus")
  np.testing.assert_array_equal(validation["row"], [5])
  assert validation["votes"].shape == (1, fer2013.NUM_VOTES)
  assert validation["label"].tolist() == [fer2013.FERPLUS_EMOTIONS.index("neutral")]


def test_npz_without_votes_refuses_ferplus(tmp_path):
  fx.write_fer2013_archive(str(tmp_path), fx.fer2013_csv_text(fx.fer2013_rows(3)))
  path = npz.prepare(tmp_path, tmp_path / "fer.npz")
  with pytest.raises(DataError, match="has no FER\\+ votes"):
    npz.load_split(path, "train", "ferplus")


def test_failed_prepare_leaves_no_file(tmp_path):
  fx.write_fer2013_archive(str(tmp_path / "m"), "emotion,pixels,Usage\n1,2 3,Training\n")
  with pytest.raises(DataError):
    npz.prepare(tmp_path / "m", tmp_path / "out" / "fer.npz")
  assert not os.path.exists(tmp_path / "out" / "fer.npz")


def test_unreadable_npz(tmp_path):
  (tmp_path / "bad.npz").write_bytes(b"nope")
  with pytest.raises(DataError, match="not a readable ferjax .npz"):
    npz.load_split(tmp_path / "bad.npz", "train")


def test_command_line_reports_bad_input_without_traceback(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "ferjax.data.npz", "--manual_dir", str(tmp_path / "none"),
       "--out", str(tmp_path / "x.npz")], capture_output=True, text=True,
      cwd=os.path.dirname(os.path.dirname(__file__)))
  assert result.returncode != 0
  assert "error: manual directory" in result.stderr
  assert "Traceback" not in result.stderr


def test_npz_loader_does_not_import_tensorflow(manual_dir, tmp_path):
  directory, _ = manual_dir
  path = npz.prepare(directory, tmp_path / "fer.npz")
  code = ("import sys; from ferjax.data import loader; "
          f"a = loader.load_arrays('fer2013', 'train', npz_path={str(path)!r}); "
          "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; print(len(a['label']))")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == "5"
