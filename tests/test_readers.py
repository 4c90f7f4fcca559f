"""The evaluator without TensorFlow: the downloaded files read by the same parsers give the
numbers of the TFDS builders, on generated copies of every dataset's official layout."""

import os

import pytest

from ferjax.data import expw, loader
from ferjax.data.errors import DataError
from ferjax.evaluation import evaluator
from ferjax.inference import ExpressionClassifier
from tests import data_fixtures as fx
from tests.test_expw import write_expw_tree

SAME = ("num_examples", "accuracy", "macro_f1", "per_class", "confusion",
        "no_face_fallbacks")


def _manual_dir(dataset: str, root) -> tuple[str, list[str]]:
  """A generated manual download of `dataset` and the splits to compare."""
  manual = str(root / "manual")
  if dataset in ("fer2013", "ferplus"):
    rows = list(fx.fer2013_rows(21))
    fx.write_fer2013_archive(manual, fx.fer2013_csv_text(rows))
    if dataset == "ferplus":  # File order: neutral happiness surprise sadness ...
      fx.write_ferplus_csv(manual, [[10 - i % 3, 0, i % 3, 0, 0, 0, 0, 0, 0, 0]
                                    for i in range(len(rows))])
    return manual, ["train", "test"]
  if dataset == "rafdb":
    fx.write_rafdb_official(manual)
    return manual, ["train", "test"]
  if dataset == "expw":
    data = os.path.join(manual, "ExpW", "data")
    write_expw_tree(data)
    return manual, sorted({expw.split_of(f.image_name)
                           for f in expw.find_faces(manual).faces})
  if dataset == "kdef":
    fx.write_kdef_tree(manual)
  else:
    fx.write_jaffe_tree(manual)
  return manual, ["test"]


@pytest.mark.slow(30)
@pytest.mark.skipif(not loader.has_tfds(), reason="comparing needs TensorFlow Datasets")
@pytest.mark.parametrize("dataset", ["fer2013", "ferplus", "rafdb", "expw", "kdef", "jaffe"])
def test_files_give_the_numbers_of_the_tfds_builders(dataset, exported_model_dir, tmp_path):
  classifier = ExpressionClassifier(exported_model_dir)
  manual, splits = _manual_dir(dataset, tmp_path)
  for split in splits:
    reports = {reader: evaluator.evaluate_model(
        classifier, dataset, split, data_dir=str(tmp_path / "tfds"), manual_dir=manual,
        reader=reader, progress=False) for reader in ("tfds", "files")}
    assert reports["tfds"]["read_from"] == "tfds" and reports["files"]["read_from"] == "files"
    assert reports["files"]["num_examples"] > 0
    for key in SAME:
      assert reports["files"][key] == reports["tfds"][key], (dataset, split, key)


def test_files_reader_says_what_it_needs(tmp_path):
  with pytest.raises(DataError, match="pass --manual_dir"):
    loader.load_arrays("fer2013", "test", reader="files")
  with pytest.raises(DataError, match="unknown reader"):
    loader.load_arrays("fer2013", "test", manual_dir=str(tmp_path), reader="parquet")
  with pytest.raises(DataError, match="photo dataset"):
    loader.load_arrays("kdef", "test", manual_dir=str(tmp_path), reader="files")
