"""Plots and an HTML page made from a session summary (see ferjax.live.recorder).

    files = write_all(summary, out_dir)
    # {"class_timeline_png": ..., "students_heatmap_png": ..., "report_html": ...}

Each file is written to a temporary name and renamed: complete or absent.

The page references the PNGs by relative path, so the session folder can be
moved or zipped as a whole. It shows no face images.
"""

from __future__ import annotations

import html
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import colors as mcolors  # pylint: disable=g-import-not-at-top,wrong-import-position
from matplotlib import patches  # pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from ferjax import files as files_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from ferjax.live import colours  # pylint: disable=g-import-not-at-top,wrong-import-position

CLASS_TIMELINE_PNG = "class_timeline.png"
STUDENTS_HEATMAP_PNG = "students_heatmap.png"
REPORT_HTML = "report.html"

_ABSENT_COLOUR = "#ffffff"


def label_colour(label: str, index: int = 0) -> str:
  return colours.EMOTION_COLOURS.get(label, f"C{index % 10}")


def class_timeline_png(summary: dict[str, Any], path: str) -> None:
  """Stacked mean class probabilities per bin, with the number of students."""
  names = summary["session"]["class_names"]
  timeline = summary["class"]["timeline"]
  fig, ax = plt.subplots(figsize=(10, 4))
  if timeline:
    # Steps: each bin is flat from its start to its end.
    xs, ys, counts = [], [], []
    for b in timeline:
      probs = b["mean_probabilities"]
      values = [probs[n] if probs else 0.0 for n in names]
      xs += [b["start_s"], b["end_s"]]
      ys += [values, values]
      counts += [b["mean_students"]] * 2
    ys = np.array(ys).T
    ax.stackplot(xs, ys, labels=names,
                 colors=[label_colour(n, i) for i, n in enumerate(names)], alpha=0.9)
    ax.set_xlim(xs[0], xs[-1])
    twin = ax.twinx()
    twin.plot(xs, counts, color="black", linewidth=1.5, label="students")
    twin.set_ylabel("students visible (mean)")
    twin.set_ylim(0, max(max(counts), 1) * 1.1)
  else:
    ax.text(0.5, 0.5, "no frames logged", ha="center", va="center",
            transform=ax.transAxes)
  ax.set_ylim(0, 1)
  ax.set_xlabel("time (s)")
  ax.set_ylabel("mean probability")
  ax.set_title(f"Class mood ({summary['session']['bin_seconds']:g} s bins)")
  if timeline:
    ax.legend(loc="upper left", bbox_to_anchor=(1.08, 1.0), fontsize=8)
  _save(fig, path)


def _save(fig, path: str) -> None:
  """Writes `fig` to `path` whole (temporary name, then rename) and frees it."""
  fig.tight_layout()
  try:
    with files_lib.replacing(path) as tmp:
      fig.savefig(tmp, dpi=110)
  finally:
    plt.close(fig)


def students_heatmap_png(summary: dict[str, Any], path: str) -> None:
  """Students x time bins, coloured by each bin's dominant label."""
  labels = list(summary["class"]["emotion_share"])
  students = summary["students"]
  num_bins = max(len(summary["class"]["timeline"]), 1)
  grid = np.zeros((max(len(students), 1), num_bins), np.int32)  # 0: absent.
  for row, student in enumerate(students):
    for b in student["timeline"]:
      grid[row, b["bin"]] = labels.index(b["dominant"]) + 1
  cmap = mcolors.ListedColormap(
      [_ABSENT_COLOUR] + [label_colour(n, i) for i, n in enumerate(labels)])
  height = min(2 + 0.3 * len(students), 14)
  fig, ax = plt.subplots(figsize=(10, height))
  bin_s = summary["session"]["bin_seconds"]
  start = summary["session"]["start_s"]
  ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=cmap,
            vmin=0, vmax=len(labels), extent=(start, start + num_bins * bin_s,
                                              grid.shape[0] - 0.5, -0.5))
  if students:
    ax.set_yticks(range(len(students)), [f"#{s['id']}" for s in students],
                  fontsize=8 if len(students) < 40 else 5)
  else:
    ax.set_yticks([])
    ax.text(0.5, 0.5, "no students", ha="center", va="center", transform=ax.transAxes)
  ax.set_xlabel("time (s)")
  ax.set_ylabel("student")
  ax.set_title(f"Dominant emotion per student ({bin_s:g} s bins; white: not visible)")
  handles = [patches.Patch(color=label_colour(n, i), label=n) for i, n in enumerate(labels)]
  ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
  _save(fig, path)


def _pct(x: float) -> str:
  return f"{100 * x:.0f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
  head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
  return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _label_cell(label: str | None) -> str:
  if label is None:
    return ""
  return (f'<span class="swatch" style="background:{label_colour(label)}"></span>'
          f"{html.escape(label)}")


def report_html(summary: dict[str, Any], path: str, images: dict[str, str]) -> None:
  """One self-contained page: session facts, class shares, plots, students."""
  session = summary["session"]
  labels = list(summary["class"]["emotion_share"])
  facts = [
      ["started", html.escape(str(session["started_at"]))],
      ["source", html.escape(str(session["source"]) or "-")],
      ["model", html.escape(str(session["model"]) or "-")],
      ["duration", f"{session['duration_s']:.1f} s ({session['frames']} frames"
                   + (f", {session['fps']:.1f} fps)" if session["fps"] else ")")],
      ["students", f"{len(summary['students'])}"
                   + (f" ({session['tracks_dropped']} tracks under "
                      f"{session['min_seconds_visible']:g} s left out)"
                      if session["tracks_dropped"] else "")],
      ["face images stored", "no"],
  ]
  class_share = summary["class"]["emotion_share"]
  parts = [
      "<!DOCTYPE html><html><head><meta charset='utf-8'>",
      "<title>Classroom session report</title><style>",
      "body{font-family:sans-serif;margin:2em;max-width:1100px}",
      "table{border-collapse:collapse;margin:1em 0}",
      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}",
      "td:first-child,th:first-child{text-align:left}",
      ".swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em}",
      "img{max-width:100%}</style></head><body>",
      "<h1>Classroom session report</h1>",
      _table(["", ""], facts),
      "<h2>Class</h2>",
      f"<p>Dominant emotion: {_label_cell(summary['class']['dominant_emotion'])}; "
      f"{summary['class']['student_seconds']:.1f} student-seconds observed.</p>",
      _table(["emotion", "share of visible time"],
             [[_label_cell(n), _pct(class_share[n])] for n in labels]),
  ]
  for key, title in (("class_timeline_png", "Class mood over time"),
                     ("students_heatmap_png", "Students over time")):
    if key in images:
      parts.append(f"<h2>{title}</h2><img src='{html.escape(images[key])}' alt='{title}'>")
  parts.append("<h2>Students</h2>")
  if summary["students"]:
    rows = []
    for s in summary["students"]:
      rows.append([f"#{s['id']}", f"{s['seconds_visible']:.1f}",
                   f"{s['first_seen_s']:.1f}", f"{s['last_seen_s']:.1f}",
                   _label_cell(s["dominant_emotion"])]
                  + [_pct(s["emotion_share"][n]) for n in labels])
    parts.append(_table(["student", "seconds visible", "first seen (s)", "last seen (s)",
                         "dominant"] + labels, rows))
  else:
    parts.append("<p>No students were tracked.</p>")
  parts.append("<p>Shares are fractions of each student's visible time by smoothed "
               "label; ids are anonymous and only valid within this session.</p>")
  parts.append("</body></html>")
  files_lib.atomic_write_text(path, "\n".join(parts))


def write_all(summary: dict[str, Any], out_dir: str,
              failures: dict[str, str] | None = None) -> dict[str, str]:
  """Writes both PNGs and report.html; returns {name: relative path} of those written.

  Without `failures` the first error is raised; with it, a file that cannot be
  written is recorded there (file name -> reason) and the others are still written.
  """
  files = {}

  def attempt(key: str, name: str, fn, *args) -> None:
    try:
      fn(summary, os.path.join(out_dir, name), *args)
    except Exception as e:  # pylint: disable=broad-except
      if failures is None:
        raise
      failures[name] = (e.strerror if isinstance(e, OSError) and e.strerror
                        else f"{type(e).__name__}: {e}")
    else:
      files[key] = name

  attempt("class_timeline_png", CLASS_TIMELINE_PNG, class_timeline_png)
  attempt("students_heatmap_png", STUDENTS_HEATMAP_PNG, students_heatmap_png)
  attempt("report_html", REPORT_HTML, report_html, dict(files))
  return files
