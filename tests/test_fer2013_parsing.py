"""FER2013 / FER+ parsing, on small files the tests write."""

import os

import numpy as np
import pytest

from ferjax.data import fer2013
from ferjax.data.errors import DataError
from tests import data_fixtures as fx


def _write_csv(tmp_path, text, name="fer2013.csv"):
  path = tmp_path / name
  path.write_text(text)
  return path


def test_reads_extracted_csv_and_archive_identically(tmp_path):
  rows = list(fx.fer2013_rows())
  text = fx.fer2013_csv_text(rows)
  os.makedirs(tmp_path / "plain")
  _write_csv(tmp_path / "plain", text)
  fx.write_fer2013_archive(str(tmp_path / "archive"), text)
  plain = fer2013.read_fer2013(tmp_path / "plain")
  archived = fer2013.read_fer2013(tmp_path / "archive")
  for table in (plain, archived):
    assert table.images.shape == (len(rows), 48, 48)
    assert table.images.dtype == np.uint8
    np.testing.assert_array_equal(table.images, np.stack([r[1] for r in rows]))
    np.testing.assert_array_equal(table.labels, [r[0] for r in rows])
  np.testing.assert_array_equal(plain.splits, archived.splits)


def test_splits_follow_usage(tmp_path):
  fx.write_fer2013_archive(str(tmp_path), fx.fer2013_csv_text(fx.fer2013_rows()))
  table = fer2013.read_fer2013(tmp_path)
  expected = {"train": [i for i, u in enumerate(fx.USAGES) if u == "Training"],
              "validation": [i for i, u in enumerate(fx.USAGES) if u == "PublicTest"],
              "test": [i for i, u in enumerate(fx.USAGES) if u == "PrivateTest"]}
  for split, rows in expected.items():
    np.testing.assert_array_equal(table.split_rows(split), rows)
  with pytest.raises(DataError, match="unknown split"):
    table.split_rows("PrivateTest")


def test_finds_csv_in_a_subfolder(tmp_path):
  os.makedirs(tmp_path / "fer2013")
  _write_csv(tmp_path / "fer2013", fx.fer2013_csv_text(fx.fer2013_rows(3)))
  assert len(fer2013.read_fer2013(tmp_path).labels) == 3


@pytest.mark.parametrize("line, message", [
    ("3,1 2 3,Training", "expected 2304 pixels, found 3"),
    ("3,{pixels_bad},Training", "not all integers"),
    ("3,{pixels_big},Training", "0..255"),
    ("9,{pixels},Training", "unknown emotion label '9'"),
    ("x,{pixels},Training", "unknown emotion label 'x'"),
    ("3,{pixels},Validation", "unknown Usage 'Validation'"),
    ("3,{pixels}", "expected 3 fields, found 2"),
])
def test_malformed_row_names_file_and_line(tmp_path, line, message):
  good = fx.fer2013_csv_text(fx.fer2013_rows(2))
  pixels = " ".join(["7"] * 2304)
  bad = line.format(pixels=pixels, pixels_bad=pixels[:-1] + "x",
                    pixels_big=pixels[:-1] + "256")
  path = _write_csv(tmp_path, good + bad + "\n")
  with pytest.raises(DataError, match=message) as error:
    fer2013.read_fer2013(tmp_path)
  assert f"{path}:4" in str(error.value)  # header, two good rows, then the bad one


def test_malformed_row_inside_archive_names_archive_and_line(tmp_path):
  text = fx.fer2013_csv_text(fx.fer2013_rows(1)) + "3,1 2,Training\n"
  archive = fx.write_fer2013_archive(str(tmp_path), text)
  with pytest.raises(DataError, match=f"{archive}:fer2013/fer2013.csv:3"):
    fer2013.read_fer2013(tmp_path)


def test_bad_header(tmp_path):
  _write_csv(tmp_path, "label,pixels,split\n")
  with pytest.raises(DataError, match="header"):
    fer2013.read_fer2013(tmp_path)


def test_missing_manual_dir_gives_instructions(tmp_path):
  with pytest.raises(DataError, match="does not exist") as error:
    fer2013.read_fer2013(tmp_path / "nowhere")
  assert "fer2013.tar.gz" in str(error.value)
  with pytest.raises(DataError, match="neither fer2013.csv nor fer2013.tar.gz"):
    fer2013.read_fer2013(tmp_path)


def test_corrupt_archive(tmp_path):
  (tmp_path / "fer2013.tar.gz").write_bytes(b"this is not gzip")
  with pytest.raises(DataError, match="not a readable tar archive"):
    fer2013.read_fer2013(tmp_path)


def test_votes_are_reordered_to_ferjax_order(tmp_path):
  #           neutral happiness surprise sadness anger disgust fear contempt unknown NF
  file_row = [1,      2,        3,       4,      5,    6,      7,   8,       9,      10]
  fx.write_ferplus_csv(str(tmp_path), [file_row])
  votes = fer2013.read_ferplus_votes(tmp_path, 1)
  # angry disgust fear happy sad surprise neutral contempt unknown not_face
  np.testing.assert_array_equal(votes[0], [5, 6, 7, 2, 4, 3, 1, 8, 9, 10])


def test_ferplus_majority_rule():
  def votes(**kw):
    return [kw.get(n, 0) for n in fer2013.VOTE_NAMES]
  cases = [
      (votes(happy=10), fer2013.FERPLUS_EMOTIONS.index("happy")),
      (votes(happy=6, sad=4), fer2013.FERPLUS_EMOTIONS.index("happy")),
      (votes(happy=5, sad=5), -1),                       # no strict majority
      (votes(happy=5, sad=4, angry=1), fer2013.FERPLUS_EMOTIONS.index("happy")),  # 1 vote is noise
      (votes(contempt=7, neutral=3), fer2013.FERPLUS_EMOTIONS.index("contempt")),
      (votes(unknown=6, neutral=4), -1),                 # majority unknown
      (votes(not_face=10), -1),                          # not a face
      (votes(angry=1, fear=1, sad=1), -1),               # only noise
  ]
  labels = fer2013.ferplus_majority(np.array([c[0] for c in cases]))
  np.testing.assert_array_equal(labels, [c[1] for c in cases])


def test_ferplus_row_count_must_match(tmp_path):
  fx.write_ferplus_csv(str(tmp_path), [[10] + [0] * 9] * 3)
  with pytest.raises(DataError, match="has 3 data rows but fer2013.csv has 5"):
    fer2013.read_ferplus_votes(tmp_path, 5)


def test_ferplus_bad_votes_name_line(tmp_path):
  path = fx.write_ferplus_csv(str(tmp_path), [[10] + [0] * 9])
  with open(path, "a") as f:
    f.write("Training,fer1.png,1,x,0,0,0,0,0,0,0,0\n")
  with pytest.raises(DataError, match=f"{path}:3: votes must be integers"):
    fer2013.read_ferplus_votes(tmp_path, 2)


def test_missing_ferplus_file_gives_instructions(tmp_path):
  with pytest.raises(DataError, match="fer2013new.csv not found") as error:
    fer2013.read_ferplus_votes(tmp_path, 1)
  assert "FERPlus" in str(error.value)
