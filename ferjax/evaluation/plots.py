"""Figures written next to evaluation reports."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position


def confusion_png(report: dict, path: str) -> None:
  """Row-normalised confusion matrix with counts, titled with the accuracy."""
  names = report["confusion"]["class_names"]
  normalised = np.asarray(report["confusion"]["normalised"])
  counts = np.asarray(report["confusion"]["counts"])
  fig, ax = plt.subplots(figsize=(1.0 * len(names) + 2, 1.0 * len(names) + 1.5))
  image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
  for i in range(len(names)):
    for j in range(len(names)):
      ax.text(j, i, f"{normalised[i, j]:.2f}\n({counts[i, j]})", ha="center",
              va="center", fontsize=8,
              color="white" if normalised[i, j] > 0.6 else "black")
  ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
  ax.set_yticks(range(len(names)), names)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  ax.set_title(f"{report['dataset']}/{report['split']}: accuracy "
               f"{report['accuracy']:.2%}, macro-F1 {report['macro_f1']:.3f}")
  fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
