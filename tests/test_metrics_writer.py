"""The metrics log: JSON lines, and no duplicated steps after a resume."""

import json

from ferjax.train import metrics_writer


def _steps(workdir):
  with open(workdir / metrics_writer.METRICS_FILE, encoding="utf-8") as f:
    return [json.loads(line)["step"] for line in f]


def test_resume_drops_records_written_after_the_last_checkpoint(tmp_path):
  writer = metrics_writer.MetricsWriter(str(tmp_path), tensorboard=False)
  for step in range(10, 60, 10):
    writer.write(step, {"train_loss": 1.0 / step})
  writer.close()
  with open(tmp_path / metrics_writer.METRICS_FILE, "a", encoding="utf-8") as f:
    f.write('{"step": 60, "train_lo')  # Killed mid-write.
  resumed = metrics_writer.MetricsWriter(str(tmp_path), start_step=30, tensorboard=False)
  resumed.write(40, {"train_loss": 0.5})
  resumed.close()
  assert _steps(tmp_path) == [10, 20, 30, 40]


def test_writes_plain_json_values(tmp_path):
  import numpy as np  # pylint: disable=g-import-not-at-top
  writer = metrics_writer.MetricsWriter(str(tmp_path), tensorboard=False)
  writer.write(np.int64(3), {"accuracy": np.float32(0.5), "confusion": np.eye(2, dtype=int)})
  writer.close()
  with open(tmp_path / metrics_writer.METRICS_FILE, encoding="utf-8") as f:
    record = json.loads(f.readline())
  assert record == {"step": 3, "accuracy": 0.5, "confusion": [[1, 0], [0, 1]]}
