"""No program loses a user's files; bad output paths fail first, in one line.

Export, evaluation, training and the live tool on outputs that are files,
unwritable, already hold results, or run out of space; FER2013 files saved
by Excel; re-running a finished training run.
"""

import datetime
import errno
import functools
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from ferjax import files
from ferjax.data import fer2013
from ferjax.live import recorder as recorder_lib
from ferjax.labels import EMOTIONS
from tests import data_fixtures as fx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIA = os.path.join(ROOT, "..", "shared", "media")
CLIP = os.path.join(MEDIA, "classroom.gif")
needs_media = pytest.mark.skipif(not os.path.isfile(CLIP), reason="../shared/media absent")
SESSION_FILES = ("frames.csv", "summary.json", "class_timeline.png",
                 "students_heatmap.png", "report.html")


def _run(*args, cwd=ROOT, **kwargs):
  return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                        timeout=600, **kwargs)


def _assert_one_line_error(result, *needles):
  assert result.returncode != 0, result.stdout[-2000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1, result.stderr[-3000:]
  for needle in needles:
    assert needle in errors[0], errors[0]


def _snapshot(folder):
  """{relative path: bytes, or None for a folder} of everything below `folder`."""
  out = {}
  for root, dirs, names in os.walk(folder):
    for name in dirs:
      out[os.path.relpath(os.path.join(root, name), folder)] = None
    for name in names:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, folder)] = f.read()
  return out


def _under_a_file(tmp_path):
  """A path no user can write to, root included: below a regular file."""
  blocker = tmp_path / "blocker"
  blocker.write_text("a file")
  return blocker / "sub"


# ferjax.files


def test_check_output_dir(tmp_path):
  files.check_output_dir(tmp_path, "--out")
  files.check_output_dir(tmp_path / "new" / "deeper", "--out")
  (tmp_path / "f").write_text("x")
  with pytest.raises(files.OutputError, match="is a file, not a folder"):
    files.check_output_dir(tmp_path / "f", "--out")
  with pytest.raises(files.OutputError, match="cannot be created: .* is a file"):
    files.check_output_dir(_under_a_file(tmp_path), "--out")
  assert not (tmp_path / "new").exists()  # Checks create nothing.


@pytest.fixture
def locked(tmp_path):
  """A read-only folder (skips as root, who can write anyway); writable again after."""
  if os.geteuid() == 0:
    pytest.skip("root can write to read-only folders")
  folder = tmp_path / "locked"
  folder.mkdir()
  folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
  yield folder
  folder.chmod(0o755)


def test_check_output_dir_read_only(locked):
  with pytest.raises(files.OutputError, match="not writable"):
    files.check_output_dir(locked / "out", "--out")


def test_replacing_keeps_the_old_file_when_writing_fails(tmp_path):
  path = tmp_path / "report.json"
  files.atomic_write_text(path, "old")
  with pytest.raises(OSError):
    with files.replacing(path) as tmp:
      with open(tmp, "w") as f:
        f.write("half")
      raise OSError(errno.ENOSPC, "No space left on device")
  assert path.read_text() == "old"
  assert os.listdir(tmp_path) == ["report.json"]
  files.atomic_write_text(path, "new")
  assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o644


# Export


@pytest.fixture(scope="module")
def workdir_copy(smoke_workdir, tmp_path_factory):
  """A copy of the smoke run, for tests that point programs at it (a bug could wipe it)."""
  copy = tmp_path_factory.mktemp("copy") / "run"
  shutil.copytree(smoke_workdir, copy)
  return str(copy)


@pytest.fixture
def smoke_model(smoke_workdir):
  from ferjax.train import checkpoints  # pylint: disable=g-import-not-at-top
  model, _, _ = checkpoints.restore_best(smoke_workdir)
  return model


def test_export_never_deletes_the_workdir_or_other_folders(workdir_copy, tmp_path,
                                                           monkeypatch):
  from ferjax.train import checkpoints  # pylint: disable=g-import-not-at-top
  from ferjax.train import export  # pylint: disable=g-import-not-at-top

  def no_work(*args, **kwargs):
    raise AssertionError("the output must be checked before any work")

  monkeypatch.setattr(checkpoints, "restore_best", no_work)
  before = _snapshot(workdir_copy)
  with pytest.raises(files.OutputError, match="holds no ferjax export"):
    export.export_workdir(workdir_copy, workdir_copy)
  with pytest.raises(files.OutputError, match="holds no ferjax export"):
    export.export_workdir(workdir_copy, workdir_copy, overwrite=True)
  assert _snapshot(workdir_copy) == before
  unrelated = tmp_path / "project"
  unrelated.mkdir()
  (unrelated / "notes.txt").write_text("mine")
  with pytest.raises(files.OutputError, match="not empty"):
    export.export_workdir(workdir_copy, str(unrelated), overwrite=True)
  assert _snapshot(unrelated) == {"notes.txt": b"mine"}
  with pytest.raises(files.OutputError, match="already holds an export; pass --overwrite"):
    export.export_workdir(workdir_copy, os.path.join(workdir_copy, "export"))


def test_export_into_an_empty_folder_keeps_the_folder(smoke_model, tmp_path):
  from ferjax.train import export  # pylint: disable=g-import-not-at-top
  target = tmp_path / "empty"
  target.mkdir()
  inode = target.stat().st_ino
  paths = export.export(smoke_model, target, tflite_batch=1, small_batches=())
  assert target.stat().st_ino == inode and "previous" not in paths
  assert export.is_export(target)
  assert sorted(os.listdir(tmp_path)) == ["empty"]  # No staging folder left.


def test_training_export_moves_the_old_export_aside(smoke_workdir, tmp_path, monkeypatch):
  from ferjax.train import export  # pylint: disable=g-import-not-at-top
  from ferjax.train import loop  # pylint: disable=g-import-not-at-top
  # One TFLite file, not three: test_export checks the full set in the smoke run's export.
  monkeypatch.setattr(export, "export", functools.partial(export.export, small_batches=()))
  workdir = tmp_path / "run"
  shutil.copytree(smoke_workdir, workdir)
  (workdir / "export" / "marker.txt").write_text("the old export")
  loop._export(str(workdir))  # pylint: disable=protected-access
  (previous,) = [p for p in os.listdir(workdir) if p.startswith("export.previous-")]
  datetime.datetime.strptime(previous, "export.previous-%Y%m%d-%H%M%S")
  assert (workdir / previous / "marker.txt").read_text() == "the old export"
  assert not (workdir / "export" / "marker.txt").exists()
  with open(workdir / "export" / "metadata.json") as f:
    assert json.load(f)["format"] == "ferjax-export/1"


@pytest.mark.parametrize("case", ["workdir_as_out", "file_as_out", "not_a_workdir"])
def test_export_cli_one_line_errors(workdir_copy, tmp_path, case):
  (tmp_path / "file").write_text("keep me")
  (tmp_path / "other").mkdir()
  workdir, out, needle = {
      "workdir_as_out": (workdir_copy, workdir_copy, "holds no ferjax export"),
      "file_as_out": (workdir_copy, str(tmp_path / "file"), "is a file, not a folder"),
      "not_a_workdir": (str(tmp_path / "other"), str(tmp_path / "out"),
                        "is not a training workdir"),
  }[case]
  before = _snapshot(workdir_copy)
  result = _run("-m", "ferjax.train.export", "--workdir", workdir, "--out", out)
  _assert_one_line_error(result, needle)
  if case == "not_a_workdir":
    assert "config.json" in result.stderr and "Errno" not in result.stderr
  assert _snapshot(workdir_copy) == before
  assert (tmp_path / "file").read_text() == "keep me"
  assert not (tmp_path / "out").exists()


# Evaluation


@pytest.fixture
def fer_npz(tiny_fer_npz):
  return tiny_fer_npz


def _eval(model_dir, fer_npz, out, *flags):
  return _run(os.path.join("tools", "eval.py"), "--dataset", "fer2013", "--npz", fer_npz,
              "--model", model_dir, "--out", str(out), *flags)


def test_eval_refuses_to_overwrite_a_report(exported_model_dir, fer_npz, tmp_path):
  report = tmp_path / "fer2013_test.json"
  report.write_text('{"accuracy": "an earlier run"}')
  result = _eval(exported_model_dir, fer_npz, tmp_path)
  _assert_one_line_error(result, "already exists", "--overwrite")
  assert report.read_text() == '{"accuracy": "an earlier run"}'
  assert not (tmp_path / "fer2013_test_confusion.png").exists()
  result = _eval(exported_model_dir, fer_npz, tmp_path, "--overwrite")
  assert result.returncode == 0, result.stderr[-3000:]
  assert json.loads(report.read_text())["num_examples"] > 0
  assert (tmp_path / "fer2013_test_confusion.png").stat().st_size > 0
  assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # No temp files.


def _file_size_limited(*args):
  """`python *args` where every write past 20 kB fails, as on a full disk."""
  limited = ("import os, resource, sys; "
             "resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000)); "
             "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")
  return _run("-c", limited, *args)


def test_eval_full_disk_is_one_line_and_files_complete_or_absent(exported_model_dir,
                                                                 fer_npz, tmp_path):
  result = _file_size_limited(os.path.join(ROOT, "tools", "eval.py"), "--dataset", "fer2013",
                              "--npz", fer_npz, "--model", exported_model_dir, "--out",
                              str(tmp_path))
  _assert_one_line_error(result, "cannot write the report", "File too large")
  names = set(os.listdir(tmp_path))
  assert names <= {"fer2013_test.json", "fer2013_test_confusion.png"}  # No temp files.
  if "fer2013_test.json" in names:
    assert json.loads((tmp_path / "fer2013_test.json").read_text())["num_examples"] > 0
  if "fer2013_test_confusion.png" in names:
    assert (tmp_path / "fer2013_test_confusion.png").read_bytes().endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize("kind", ["file", "under_a_file"])
def test_eval_out_that_cannot_be_a_folder(exported_model_dir, fer_npz, tmp_path, kind):
  (tmp_path / "file").write_text("keep me")
  out = tmp_path / "file" if kind == "file" else _under_a_file(tmp_path)
  result = _eval(exported_model_dir, fer_npz, out)
  _assert_one_line_error(result, "--out", "is a file, not a folder")
  assert (tmp_path / "file").read_text() == "keep me"


def test_eval_checks_the_manual_folder_before_tfds_prepares(exported_model_dir, tmp_path):
  result = _run(os.path.join("tools", "eval.py"), "--dataset", "kdef", "--data_dir",
                str(tmp_path / "tfds"), "--model", exported_model_dir, "--out",
                str(tmp_path / "out"))
  assert result.returncode != 0
  assert "not downloaded automatically" in result.stderr
  assert "Downloading and preparing" not in result.stdout + result.stderr
  assert "Traceback" not in result.stderr
  assert not (tmp_path / "tfds" / "kdef").exists()


# Training


def _train(workdir, *flags):
  return _run("-m", "ferjax.train", "--config", "experiments/smoke.py", "--workdir",
              str(workdir), "--config.tensorboard=False", *flags,
              env=dict(os.environ, JAX_PLATFORMS="cpu"))


def test_train_refuses_a_folder_that_is_not_a_workdir(tmp_path):
  (tmp_path / "thesis.tex").write_text("years of work")
  result = _train(tmp_path)
  _assert_one_line_error(result, "not empty and holds no training run")
  assert _snapshot(tmp_path) == {"thesis.tex": b"years of work"}


def test_train_workdir_that_cannot_be_written(tmp_path):
  result = _train(_under_a_file(tmp_path))
  _assert_one_line_error(result, "--workdir", "is a file, not a folder")


def test_train_read_only_workdir(locked):
  _assert_one_line_error(_train(locked / "run"), "not writable")


def test_finished_run_is_not_evaluated_or_exported_again(smoke_workdir, tmp_path):
  from ferjax.train import config_lib  # pylint: disable=g-import-not-at-top
  from ferjax.train import loop  # pylint: disable=g-import-not-at-top
  workdir = tmp_path / "run"
  shutil.copytree(smoke_workdir, workdir)
  before = _snapshot(workdir)
  config = config_lib.load_recipe(os.path.join(ROOT, "experiments", "smoke.py"))
  config.export = True
  config.tensorboard = False
  summary = loop.train(config, str(workdir))
  assert summary["already_finished"]
  assert summary["test"]["accuracy"] > 0.5
  assert _snapshot(workdir) == before  # No second test record, no new export.
  with open(workdir / "metrics.jsonl") as f:
    assert sum("test_accuracy" in json.loads(line) for line in f) == 1


# Live sessions


def _live(*args, **kwargs):
  return _run(os.path.join(ROOT, "tools", "live.py"), "--headless", "--max_frames", "3",
              *args, **kwargs)


@needs_media
@pytest.mark.parametrize("case", ["bad_extension", "existing_video", "out_is_file",
                                  "out_under_file", "existing_session"])
def test_live_output_mistakes_fail_before_anything_is_written(exported_model_dir,
                                                              tmp_path, case):
  session = tmp_path / "session"
  (tmp_path / "file").write_text("keep me")
  args, needle = {
      "bad_extension": (["--output", str(tmp_path / "x.xyz"), "--out", str(session)],
                        ".mp4 or .avi"),
      "existing_video": (["--output", str(tmp_path / "file.avi"), "--out", str(session)],
                         "already exists"),
      "out_is_file": (["--out", str(tmp_path / "file")], "is a file, not a folder"),
      "out_under_file": (["--out", str(_under_a_file(tmp_path))], "is a file, not a folder"),
      "existing_session": (["--out", str(session)], "already holds a session"),
  }[case]
  if case == "existing_video":
    (tmp_path / "file.avi").write_text("an earlier video")
  if case == "existing_session":
    session.mkdir()
    (session / "frames.csv").write_text("rows that survived a crash\n")
  before = _snapshot(tmp_path)
  result = _live("--source", CLIP, "--model", exported_model_dir, *args)
  _assert_one_line_error(result, needle)
  assert "session records" not in result.stdout  # Before the session folder was made.
  assert _snapshot(tmp_path) == before  # Nothing written, created or removed.


@needs_media
def test_live_default_folder_never_collides(exported_model_dir, tmp_path):
  now = datetime.datetime.now()
  taken = []
  for second in range(-2, 120):  # Every name the run could pick in the next two minutes.
    name = (now + datetime.timedelta(seconds=second)).strftime("%Y-%m-%d_%H%M%S")
    folder = tmp_path / "sessions" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "frames.csv").write_text(f"{name}\n")
    taken.append(folder)
  result = _live("--source", CLIP, "--model", exported_model_dir, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  for folder in taken:
    assert os.listdir(folder) == ["frames.csv"]
    assert (folder / "frames.csv").read_text() == f"{folder.name}\n"
  (new,) = [p for p in (tmp_path / "sessions").iterdir() if p.name.endswith("-2")]
  assert sorted(os.listdir(new)) == sorted(SESSION_FILES)


def test_recorder_never_replaces_session_files(tmp_path):
  (tmp_path / "frames.csv").write_text("earlier rows\n")
  with pytest.raises(FileExistsError):
    recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False)
  assert (tmp_path / "frames.csv").read_text() == "earlier rows\n"
  finished = tmp_path / "finished"
  finished.mkdir()
  (finished / "summary.json").write_text("{}")
  with pytest.raises(FileExistsError):
    recorder_lib.SessionRecorder(finished, EMOTIONS, plots=False)
  assert os.listdir(finished) == ["summary.json"]


def test_session_files_are_0644(tmp_path):
  umask = os.umask(0o022)  # The usual one: plain files come out 0644.
  try:
    recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS)
    recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), [1 / 7] * 7)])
    recorder.close()
  finally:
    os.umask(umask)
  assert sorted(os.listdir(tmp_path)) == sorted(SESSION_FILES)
  for name in SESSION_FILES:
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_plot_that_cannot_be_written_is_absent_and_reported(tmp_path, monkeypatch):
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  savefig = Figure.savefig

  def disk_full_for_the_heatmap(self, path, *args, **kwargs):
    if "students_heatmap" in os.fspath(path):
      with open(path, "wb") as f:
        f.write(b"\x89PNG half")
      raise OSError(errno.ENOSPC, "No space left on device")
    return savefig(self, path, *args, **kwargs)

  monkeypatch.setattr(Figure, "savefig", disk_full_for_the_heatmap)
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS)
  recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), [1 / 7] * 7)])
  summary = recorder.close()
  assert recorder.unwritten == {"students_heatmap.png": "No space left on device"}
  assert sorted(os.listdir(tmp_path)) == sorted(
      set(SESSION_FILES) - {"students_heatmap.png"})  # No half file, no temp file.
  assert "students_heatmap.png" not in (tmp_path / "report.html").read_text()
  assert "students_heatmap_png" not in summary["session"]["files"]
  assert json.loads((tmp_path / "summary.json").read_text()) == summary


@needs_media
def test_live_full_disk_is_one_line_and_files_complete_or_absent(exported_model_dir,
                                                                 tmp_path):
  session = tmp_path / "session"
  result = _file_size_limited(os.path.join(ROOT, "tools", "live.py"), "--headless",
                              "--max_frames", "3", "--source", CLIP, "--model",
                              exported_model_dir, "--out", str(session))
  _assert_one_line_error(result, "not written", "class_timeline.png")
  names = set(os.listdir(session))
  assert {"frames.csv", "summary.json", "report.html"} <= names
  assert names <= set(SESSION_FILES)  # No temporary or half-written files.
  for name in names & {"class_timeline.png", "students_heatmap.png"}:
    assert (session / name).read_bytes().endswith(b"IEND\xaeB`\x82")  # Complete PNG.
  assert json.loads((session / "summary.json").read_text())["session"]["frames"] == 3


# FER2013 files saved by Excel


def _excel(text):
  """As Excel's "CSV UTF-8" saves it: a byte-order mark, CRLF, a trailing blank line."""
  return ("\ufeff" + text.replace("\n", "\r\n") + "\r\n").encode("utf-8")


def test_fer2013_csv_with_bom_and_blank_lines(tmp_path):
  rows = list(fx.fer2013_rows())
  text = fx.fer2013_csv_text(rows)
  (tmp_path / "plain").mkdir()
  (tmp_path / "plain" / "fer2013.csv").write_text(text)
  (tmp_path / "excel").mkdir()
  (tmp_path / "excel" / "fer2013.csv").write_bytes(_excel(text))
  fx.write_fer2013_archive(str(tmp_path / "archive"), _excel(text).decode("utf-8"))
  plain = fer2013.read_fer2013(tmp_path / "plain")
  for folder in ("excel", "archive"):
    table = fer2013.read_fer2013(tmp_path / folder)
    assert (table.images == plain.images).all() and (table.labels == plain.labels).all()
    assert list(table.splits) == list(plain.splits)


def test_ferplus_votes_with_bom_and_blank_lines(tmp_path):
  file_rows = [[10, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 10, 0, 0, 0, 0, 0, 0, 0, 0]]
  path = fx.write_ferplus_csv(str(tmp_path), file_rows)
  with open(path) as f:
    text = f.read()
  expected = fer2013.read_ferplus_votes(tmp_path, 2)
  with open(path, "wb") as f:
    f.write(_excel(text.replace("\n", "\n\n", 1)))  # A blank line inside, too.
  assert (fer2013.read_ferplus_votes(tmp_path, 2) == expected).all()
