"""A prior shift toward the rare emotions, its strength chosen on validation data.

    python -m benchmarks.class_balance --npz fer2013.npz --rafdb_npz rafdb.npz \
        --expw_npz expw.npz                  # measures it, updates BENCHMARKS.md
    python -m benchmarks.class_balance ... --model MY_EXPORT --metadata   # and stores it

A classifier trained on imbalanced faces reads the common emotions (neutral,
happy) more readily than the rare ones (fear, disgust). Logit adjustment (Menon
et al., 2021) adds -strength * log(prior) to each class's logit
(`ferjax.calibration.prior_shift`); the prior is the mean label share of the FER+
and RAF-DB validation splits, each dataset weighing the same. For each strength
of --strengths the temperature is fitted again (`calibration.fit_temperature`, the
two splits weighted equally, as at export), and both validation splits are scored.

Rule: the strength with the highest mean, over the two splits, of accuracy and
balanced accuracy (mean per-class recall) weighed equally, among those that predict
no class more than --max_share_ratio times as often as it occurs on either split.
Accuracy alone would keep the rare emotions guessed, balanced accuracy alone would
let them be read into common faces; 0 (no shift) when none does better. The model's
figures without and with the chosen shift are then measured by `tools/eval.py`
(FER+ validation and test, RAF-DB validation, ExpW validation with --expw_npz) on a
copy of the model that holds it: the test split is read after the choice. With
--metadata the bias and the refitted temperature go into the model's own
metadata.json ("class_bias", "temperature"), which `ExpressionClassifier` applies.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
from absl import app
from absl import flags

from benchmarks import eval_tool
from benchmarks import report
from ferjax import calibration
from ferjax import files
from ferjax import inference
from ferjax.data import loader

_MODEL = flags.DEFINE_string("model", inference.DEFAULT_MODEL_DIR, "Exported model folder.")
_NPZ = flags.DEFINE_string("npz", None, "FER2013/FER+ .npz (ferjax.data.npz).", required=True)
_RAFDB_NPZ = flags.DEFINE_string("rafdb_npz", None, "RAF-DB .npz (ferjax.data.npz).",
                                 required=True)
_STRENGTHS = flags.DEFINE_list("strengths", [f"{s / 20:g}" for s in range(0, 17)],
                               "Strengths to try.")
_MAX_RATIO = flags.DEFINE_float("max_share_ratio", 1.3, "Largest ratio of a class's share "
                                "of the predictions to its share of the labels.")
_EXPW_NPZ = flags.DEFINE_string("expw_npz", None, "ExpW .npz: its validation split (web "
                                "faces, every emotion about as common) in the measured table.")
_MEASURE = flags.DEFINE_bool("measure", True, "Measure the model with the chosen shift by "
                             "tools/eval.py (a copy of it, unless --metadata).")
_METADATA = flags.DEFINE_bool("metadata", False, "Store the chosen bias in metadata.json.")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")

TITLE = "Rare emotions: a prior shift"
SPLITS = (("ferplus", "validation"), ("rafdb", "validation"))


def validation_logits(model: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Per dataset, log of the model's untempered probabilities and the labels."""
  classifier = inference.ExpressionClassifier(model)
  out = {}
  for name, split in SPLITS:
    arrays = loader.load_arrays(name, split, npz_path=_NPZ.value if name == "ferplus"
                                else _RAFDB_NPZ.value)
    keep = arrays["label"] < len(classifier.class_names)  # FER+'s contempt: not a class.
    probabilities = classifier.predict(arrays["image"][keep], calibrated=False)
    out[name] = (np.log(np.clip(probabilities, 1e-12, 1.0)), arrays["label"][keep])
  return out


def scores(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
  """Accuracy, balanced accuracy, per-class recall, largest prediction-share ratio, ECE."""
  classes = logits.shape[1]
  predicted = logits.argmax(axis=1)
  recall = np.array([np.mean(predicted[labels == c] == c) for c in range(classes)])
  share = np.bincount(labels, minlength=classes) / len(labels)
  ratio = np.bincount(predicted, minlength=classes) / len(labels) / np.maximum(share, 1e-9)
  probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
  probabilities /= probabilities.sum(axis=1, keepdims=True)
  return {"accuracy": float(np.mean(predicted == labels)), "balanced": float(recall.mean()),
          "recall": recall, "ratio": float(ratio.max()),
          "ece": calibration.expected_calibration_error(probabilities, labels)}


def sweep(sets: dict[str, tuple[np.ndarray, np.ndarray]], strengths: list[float]
          ) -> tuple[np.ndarray, list[dict]]:
  """The prior, and per strength: its bias (after the temperature), temperature, scores."""
  prior = np.mean([np.bincount(y, minlength=l.shape[1]) / len(y) for l, y in sets.values()],
                  axis=0)
  rows = []
  for strength in strengths:
    shift = calibration.prior_shift(prior, strength)
    logits = np.concatenate([l + shift for l, _ in sets.values()])
    labels = np.concatenate([y for _, y in sets.values()])
    weights = np.concatenate([np.full(len(y), 1 / len(y)) for _, y in sets.values()])
    temperature = calibration.fit_temperature(logits, labels, weights)
    rows.append({"strength": strength, "temperature": temperature,
                 "bias": shift / temperature,
                 **{name: scores((l + shift) / temperature, y)
                    for name, (l, y) in sets.items()}})
  return prior, rows


def choose(rows: list[dict]) -> dict:
  """The rule of the module docstring."""
  allowed = [r for r in rows if all(r[n]["ratio"] <= _MAX_RATIO.value for n, _ in SPLITS)]
  merit = lambda r: np.mean([r[n]["accuracy"] + r[n]["balanced"] for n, _ in SPLITS])
  return max(allowed or rows[:1], key=merit)


def sweep_table(rows: list[dict], chosen: dict) -> str:
  lines = ["| strength | temperature | " + " | ".join(
      f"{n} accuracy | balanced | fear / disgust recall | lowest recall | most over-read "
      f"| ECE" for n, _ in SPLITS) + " |", "|---|---|" + "---|" * 6 * len(SPLITS)]
  for r in rows:
    mark = " **(chosen)**" if r is chosen else ""
    cells = []
    for n, _ in SPLITS:
      s = r[n]
      cells.append(f"{100 * s['accuracy']:.2f} | {100 * s['balanced']:.1f} | "
                   f"{s['recall'][2]:.2f} / {s['recall'][1]:.2f} | {s['recall'].min():.2f} "
                   f"| {s['ratio']:.2f}x | {s['ece']:.3f}")
    lines.append(f"| {r['strength']:g}{mark} | {r['temperature']:.3f} | "
                 + " | ".join(cells) + " |")
  return "\n".join(lines)


def store(model: str, prior: np.ndarray, chosen: dict) -> None:
  """Writes the bias, the refitted temperature and the rule into metadata.json."""
  path = os.path.join(model, inference.METADATA_FILE)
  metadata = inference.read_metadata(model)
  metadata["temperature"] = round(chosen["temperature"], 4)
  metadata.setdefault("calibration", {})["temperature"] = metadata["temperature"]
  metadata["calibration"]["ece_after"] = {n: round(chosen[n]["ece"], 4) for n, _ in SPLITS}
  metadata["calibration"]["refitted"] = "with the class bias (benchmarks.class_balance)"
  metadata["class_bias"] = {
      "bias": [round(float(b), 4) for b in chosen["bias"]],
      "strength": chosen["strength"],
      "prior": [round(float(p), 4) for p in prior],
      "meaning": "added to the tempered logits: softmax(log p / temperature + bias)",
      "rule": (f"prior shift -strength * log(prior), prior = mean label share of FER+ and "
               f"RAF-DB validation; the strength of highest mean accuracy plus balanced "
               f"accuracy on both validation splits predicting no class over "
               f"{_MAX_RATIO.value:g}x its share (benchmarks.class_balance)")}
  files.atomic_write_text(path, json.dumps(metadata, indent=2, sort_keys=True))
  print(f"{path}: class bias of strength {chosen['strength']:g}, "
        f"temperature {chosen['temperature']:.3f}")


def measured(model: str) -> dict[str, dict]:
  """`tools/eval.py` reports of `model` on FER+ validation and test, RAF-DB validation."""
  runs = {"FER+ validation": ("ferplus", "validation", _NPZ.value),
          "FER+ test": ("ferplus", "test", _NPZ.value),
          "RAF-DB validation": ("rafdb", "validation", _RAFDB_NPZ.value)}
  if _EXPW_NPZ.value:
    runs["ExpW validation"] = ("expw", "validation", _EXPW_NPZ.value)
  return {label: eval_tool.run(model, dataset, split, npz=npz)
          for label, (dataset, split, npz) in runs.items()}


def eval_table(before: dict[str, dict], after: dict[str, dict]) -> str:
  lines = ["| split | model | accuracy | macro-F1 | recall per class | most over-read "
           "(predicted / true share) | ECE |", "|---|---|---|---|---|---|---|"]
  for label in before:
    for name, reports in (("as trained", before), ("prior shift", after)):
      r = reports[label]
      recall = [c["recall"] for c in r["per_class"].values()]
      ratio = {c: p / r["true_share"][c] for c, p in r["predicted_share"].items()
               if r["true_share"][c]}
      worst = max(ratio, key=ratio.get)
      lines.append(f"| {label} | {name} | {100 * r['accuracy']:.2f} | {r['macro_f1']:.3f} | "
                   + " / ".join(f"{v:.2f}" for v in recall)
                   + f" | {worst} {ratio[worst]:.2f}x | {r['calibration']['ece']:.3f} |")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  model = _MODEL.value
  metadata = inference.read_metadata(model)
  if metadata.get("class_bias"):
    raise app.UsageError(f"{model} already has a class_bias; sweep the model as trained")
  prior, rows = sweep(validation_logits(model), [float(s) for s in _STRENGTHS.value])
  chosen = choose(rows)
  body = [report.provenance().rstrip("\n"), f"- Model: `{os.path.relpath(model)}`", "",
          __doc__.split("\n\n", 2)[2].strip(), "",
          "Prior (label share, FER+ and RAF-DB validation, mean): " + ", ".join(
              f"{n} {p:.3f}" for n, p in zip(metadata["class_names"], prior)) + ".", "",
          "Validation splits, per strength (argmax of the shifted logits; ECE at the "
          "refitted temperature):", "", sweep_table(rows, chosen)]
  if chosen is not rows[0] and (_MEASURE.value or _METADATA.value):
    with tempfile.TemporaryDirectory() as scratch:
      shifted = os.path.join(scratch, "shifted")
      shutil.copytree(model, shifted)
      store(shifted, prior, chosen)
      if _MEASURE.value:
        before, after = measured(model), measured(shifted)
        body += ["", f"`tools/eval.py` (no TTA) on the model as trained and with the "
                 f"chosen shift (strength {chosen['strength']:g}); recall per class in the "
                 "order angry, disgust, fear, happy, sad, surprise, neutral:", "",
                 eval_table(before, after)]
      if _METADATA.value:
        store(model, prior, chosen)
  report.publish(TITLE, "\n".join(body) + "\n", _WRITE.value)


if __name__ == "__main__":
  app.run(main)
