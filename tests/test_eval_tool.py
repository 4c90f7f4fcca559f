"""tools/eval.py end to end, on an exported model and small synthetic datasets."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ferjax.evaluation import evaluator
from ferjax.data import npz
from ferjax.inference import ExpressionClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT_KEYS = {"dataset", "split", "num_examples", "accuracy", "macro_f1", "per_class",
               "confusion", "no_face_fallbacks"}


@pytest.fixture
def model_dir(exported_model_dir):
  return exported_model_dir


@pytest.fixture
def fer_npz(tiny_fer_npz):
  return tiny_fer_npz


def _run_eval(*args):
  return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "eval.py"), *args],
                        capture_output=True, text=True, cwd=ROOT)


def test_eval_fer2013_writes_json_png_and_table(model_dir, fer_npz, tmp_path):
  result = _run_eval("--dataset", "fer2013", "--split", "test", "--npz", fer_npz,
                     "--model", model_dir, "--out", str(tmp_path), "--tta", "flip")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "accuracy" in result.stdout and "with flip TTA" in result.stdout
  report = json.loads((tmp_path / "fer2013_test.json").read_text())
  assert REPORT_KEYS <= set(report)
  assert report["num_examples"] == 12  # 3 PrivateTest rows in every 10
  counts = np.asarray(report["confusion"]["counts"])
  assert counts.sum() == 12
  assert report["accuracy"] == pytest.approx(np.trace(counts) / 12)
  assert sum(c["support"] for c in report["per_class"].values()) == 12
  assert report["tta"]["mode"] == "flip"
  assert (tmp_path / "fer2013_test_confusion.png").stat().st_size > 1000


def test_eval_matches_direct_predictions(model_dir, fer_npz):
  classifier = ExpressionClassifier(model_dir)
  report = evaluator.evaluate_model(classifier, "fer2013", "validation", npz_path=fer_npz,
                             progress=False)
  data = npz.load_split(fer_npz, "validation")
  predictions = classifier.predict(data["image"]).argmax(-1)
  assert report["accuracy"] == pytest.approx(np.mean(predictions == data["label"]))


@pytest.mark.slow(40)
def test_json_stdout_is_only_json_on_a_first_tfds_preparation(model_dir, tmp_path):
  """TFDS announces its first preparation of a dataset; with --json that goes to stderr."""
  from tests import data_fixtures as fx  # pylint: disable=g-import-not-at-top
  manual = tmp_path / "manual"
  manual.mkdir()
  fx.write_fer2013_archive(str(manual), fx.fer2013_csv_text(fx.fer2013_rows(30)))
  result = _run_eval("--dataset", "fer2013", "--manual_dir", str(manual), "--data_dir",
                     str(tmp_path / "fresh_tfds"), "--model", model_dir,
                     "--out", str(tmp_path / "out"), "--json")
  assert result.returncode == 0, result.stderr[-3000:]
  assert json.loads(result.stdout)["dataset"] == "fer2013"


def test_stdout_to_stderr_moves_python_and_native_writes():
  code = ("import json, os\n"
          "from ferjax import cli\n"
          "with cli.stdout_to_stderr():\n"
          "  print('Downloading and preparing dataset ...')\n"
          "  os.write(1, b'native chatter\\n')\n"
          "print(json.dumps({'ok': 1}))\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert json.loads(result.stdout) == {"ok": 1}
  assert "Downloading and preparing" in result.stderr and "native chatter" in result.stderr


def test_json_flag_prints_parsable_json(model_dir, fer_npz, tmp_path):
  result = _run_eval("--dataset", "fer2013", "--npz", fer_npz, "--model", model_dir,
                     "--out", str(tmp_path), "--json")
  assert result.returncode == 0, result.stderr[-3000:]
  assert json.loads(result.stdout)["split"] == "test"


def test_degraded_reports_are_named_after_the_degradation(model_dir, fer_npz, tmp_path):
  result = _run_eval("--dataset", "fer2013", "--npz", fer_npz, "--model", model_dir,
                     "--out", str(tmp_path), "--face_px", "16", "--roll_degrees", "-15")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "at 16 px rolled -15 degrees" in result.stdout
  report = json.loads((tmp_path / "fer2013_test_px16_roll-15.json").read_text())
  assert report["face_px"] == 16 and report["roll_degrees"] == -15


def test_ten_crop_views_and_flip():
  faces = np.arange(2 * 48 * 48, dtype=np.uint8).reshape(2, 48, 48)
  views = evaluator.ten_crops(faces)
  assert views.shape == (10, 2, 48, 48)
  np.testing.assert_array_equal(views[5], views[0][:, :, ::-1])
  seen = []
  averaged = evaluator.predict_with_tta(lambda x: (seen.append(len(x)), np.ones((len(x), 7)))[1],
                                       faces, "flip")
  assert seen == [4] and averaged.shape == (2, 7)


@pytest.mark.parametrize("args, message", [
    (["--dataset", "affectnet"], "--dataset must be one of"),
    (["--dataset", "fer2013", "--manual_dir", "/nonexistent/fer", "--data_dir", "{tmp}"],
     "not downloaded automatically"),
    (["--dataset", "kdef", "--manual_dir", "{tmp}", "--data_dir", "{tmp}"],
     "not downloaded automatically"),
    (["--dataset", "imagefolder"], "needs --data_dir"),
    (["--dataset", "imagefolder", "--data_dir", "/nonexistent/photos"], "does not exist"),
])
def test_user_mistakes_give_one_line_errors(model_dir, tmp_path, args, message):
  args = [a.format(tmp=tmp_path) for a in args]
  result = _run_eval(*args, "--model", model_dir, "--out", str(tmp_path / "out"))
  assert result.returncode != 0
  assert message in result.stderr
  assert "Traceback" not in result.stderr


def test_wrong_model_is_reported(tmp_path, fer_npz):
  (tmp_path / "model.tflite").write_bytes(b"not a model")
  result = _run_eval("--dataset", "fer2013", "--npz", fer_npz, "--model", str(tmp_path))
  assert result.returncode != 0 and "no metadata.json" in result.stderr
  assert "Traceback" not in result.stderr
