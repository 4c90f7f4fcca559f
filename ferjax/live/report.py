"""The session report: report.html and its two plots, a view of summary.json.

    files = write_all(summary, out_dir)
    # {"class_timeline_png": ..., "students_heatmap_png": ..., "report_html": ...}

Every number on the page comes from the summary (`ferjax.live.summary`): the
chart plots each time bin's `share` (the students' visible time by label), so
its stacks weigh up to the class table's shares. The page is readable on a
phone (390 px) and a laptop without sideways page scrolling (wide tables scroll
in their own box) and prints on A4. It shows no face images.

Each file is written to a temporary name and renamed: complete or absent. The
page references the PNGs by relative path, so the session folder can be moved
or zipped as a whole. Photo sessions get a page about photos and faces, no plots.
"""

from __future__ import annotations

import datetime
import html
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import colors as mcolors  # pylint: disable=g-import-not-at-top,wrong-import-position
from matplotlib import patches  # pylint: disable=g-import-not-at-top,wrong-import-position
from matplotlib import ticker  # pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from ferjax import files as files_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from ferjax.live import colours  # pylint: disable=g-import-not-at-top,wrong-import-position
from ferjax.live import wording  # pylint: disable=g-import-not-at-top,wrong-import-position
from ferjax.live.face_quality import TOO_SMALL  # pylint: disable=g-import-not-at-top,wrong-import-position
from ferjax.live.smoothing import UNCERTAIN  # pylint: disable=g-import-not-at-top,wrong-import-position

CLASS_TIMELINE_PNG = "class_timeline.png"
STUDENTS_HEATMAP_PNG = "students_heatmap.png"
REPORT_HTML = "report.html"

_ABSENT_COLOUR = "#ffffff"
_STATE_COLOURS = {UNCERTAIN: "#9e9e9e", TOO_SMALL: "#d9d9d9"}
_STATE_WORDS = {UNCERTAIN: "uncertain", TOO_SMALL: "too small"}
# Plots are drawn 4.8 inches wide at 150 dpi and shown 480 CSS px wide (sharp on
# laptops); shrunk to a 390 px phone's width their text stays about 11 px high.
_FIGURE_WIDTH_IN, _DPI, _FONT_PT, _SHOWN_PX = 4.8, 150, 11, 480


def label_colour(label: str, index: int = 0) -> str:
  return _STATE_COLOURS.get(label) or colours.EMOTION_COLOURS.get(label, f"C{index % 10}")


def label_words(label: str) -> str:
  return _STATE_WORDS.get(label, label)


def _label_handles(labels: list[str]) -> list:
  """A legend patch per label, in its colour and words."""
  return [patches.Patch(color=label_colour(n, i), label=label_words(n))
          for i, n in enumerate(labels)]


def _clock_axis(ax, start_s: float) -> None:
  ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: wording.clock(x - start_s)))
  ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=6, steps=[1, 2, 3, 5, 6, 10],
                                                integer=True))
  ax.set_xlabel("time from the start (m:ss)")


def _legend_below(fig, handles) -> None:
  """The legend in rows of three under the axes, with just the room it needs."""
  fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=_FONT_PT - 1,
             frameon=False)
  rows = -(-len(handles) // 3)
  fig.subplots_adjust(bottom=(0.65 + 0.21 * rows) / fig.get_figheight())


def class_timeline_png(summary: dict[str, Any], path: str) -> None:
  """Share of the students' visible time per label in each bin, and how many were visible."""
  labels = list(summary["class"]["emotion_share"])
  timeline = summary["class"]["timeline"]
  start = summary["session"]["start_s"]
  with plt.rc_context({"font.size": _FONT_PT}):
    fig, ax = plt.subplots(figsize=(_FIGURE_WIDTH_IN, 4.6))
    handles = _label_handles(labels)
    if timeline:
      xs, ys, counts = [], [], []
      for b in timeline:  # Steps: each bin is flat from its start to its end.
        share = b.get("share") or {}
        values = [100 * share.get(n, 0.0) for n in labels]
        xs += [b["start_s"], b["end_s"]]
        ys += [values, values]
        counts += [b["mean_students"]] * 2
      ax.stackplot(xs, np.array(ys).T, colors=[label_colour(n, i) for i, n in enumerate(labels)])
      ax.set_xlim(xs[0], xs[-1])
      twin = ax.twinx()
      (line,) = twin.plot(xs, counts, color="black", linewidth=1.5,
                          label="students visible (right axis)")
      twin.set_ylabel("students visible")
      twin.set_ylim(0, max(max(counts), 1) * 1.1)
      handles.append(line)
    else:
      ax.text(0.5, 0.5, "nothing was recorded", ha="center", va="center",
              transform=ax.transAxes)
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(ticker.PercentFormatter())
    _clock_axis(ax, start)
    ax.set_ylabel("share of visible students")
    ax.set_title("How the class looked over time")
    _legend_below(fig, handles)
    fig.subplots_adjust(left=0.15, right=0.86, top=1 - 0.35 / fig.get_figheight())
    _save(fig, path)


def _save(fig, path: str) -> None:
  """Writes `fig` to `path` whole (temporary name, then rename) and frees it."""
  try:
    with files_lib.replacing(path) as tmp:
      fig.savefig(tmp, dpi=_DPI)
  finally:
    plt.close(fig)


def students_heatmap_png(summary: dict[str, Any], path: str) -> None:
  """Students x time bins, coloured by each bin's most frequent state (uncertain and
  too small included); white where the student was not visible."""
  labels = list(summary["class"]["emotion_share"])
  students = summary["students"]
  num_bins = max(len(summary["class"]["timeline"]), 1)
  grid = np.zeros((max(len(students), 1), num_bins), np.int32)  # 0: absent.
  for row, student in enumerate(students):
    for b in student["timeline"]:
      grid[row, b["bin"]] = labels.index(b["state"]) + 1
  cmap = mcolors.ListedColormap(
      [_ABSENT_COLOUR] + [label_colour(n, i) for i, n in enumerate(labels)])
  bin_s = summary["session"]["bin_seconds"]
  start = summary["session"]["start_s"]
  with plt.rc_context({"font.size": _FONT_PT}):
    fig, ax = plt.subplots(figsize=(_FIGURE_WIDTH_IN, min(3.6 + 0.2 * len(students), 16)))
    ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0,
              vmax=len(labels), extent=(start, start + num_bins * bin_s,
                                        grid.shape[0] - 0.5, -0.5))
    if students:
      ax.set_yticks(range(len(students)), [f"#{s['id']}" for s in students],
                    fontsize=_FONT_PT - 1 if len(students) < 40 else 6)
    else:
      ax.set_yticks([])
      ax.text(0.5, 0.5, "no students", ha="center", va="center", transform=ax.transAxes)
    _clock_axis(ax, start)
    ax.set_ylabel("student")
    ax.set_title(f"Each student over time ({bin_s:g} s steps)")
    handles = _label_handles(labels)
    handles.append(patches.Patch(facecolor=_ABSENT_COLOUR, edgecolor="#999999",
                                 label="not visible"))
    _legend_below(fig, handles)
    fig.subplots_adjust(left=0.15, right=0.95, top=1 - 0.35 / fig.get_figheight())
    _save(fig, path)


# The page.


def _pct(x: float) -> str:
  return f"{100 * x:.0f}%"


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
  head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
  return (f"<div class='scroll'><table class='{css}'><thead><tr>{head}</tr></thead>"
          f"<tbody>{body}</tbody></table></div>")


def _label_cell(label: str | None) -> str:
  if label is None:
    return ""
  return (f"<span class='swatch' style='background:{label_colour(label)}'></span>"
          f"{html.escape(label_words(label))}")


def _when(recording: dict[str, Any]) -> str:
  """'Sat 5 Dec 2026, 10:02–10:47 (this computer's clock)' or why it is unknown."""
  start, end = recording.get("started_at"), recording.get("ended_at")
  if not start:
    return "time of recording unknown"
  began = datetime.datetime.fromisoformat(start)
  text = f"{began:%a} {began.day} {began:%b %Y, %H:%M}"
  if end:
    text += "–" + datetime.datetime.fromisoformat(end).strftime("%H:%M")
  basis = recording.get("time_basis")
  return text + (f" <span class='note'>(from {html.escape(basis)})</span>" if basis else "")


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
 margin:0 auto;padding:1rem;max-width:1100px;line-height:1.45;font-size:16px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.2rem;margin-top:1.8em}
.sub{color:#555;margin:0 0 1em}.note{color:#666;font-size:.9em}
.facts{display:flex;flex-wrap:wrap;gap:.6rem 2rem;margin:1em 0}
.fact{min-width:7em}.fact b{display:block;font-size:1.5rem}
.lead{font-size:1.15rem;background:#f1f5fa;border-left:4px solid #4a7ab8;
 padding:.6rem .9rem;margin:1em 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}
.students td,.students th{padding:3px 5px}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.35em;
 vertical-align:-.05em;border:1px solid #0002}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
ul{padding-left:1.2em}
.pair{display:grid;grid-template-columns:minmax(0,480px) minmax(0,1fr);gap:0 2.5rem;
 align-items:start}
@media (max-width:760px){.pair{display:block}}
@media print{@page{size:A4;margin:12mm}body{max-width:none;padding:0;font-size:11pt}
 .scroll{overflow:visible}h2{break-after:avoid}img{max-height:120mm;width:auto}
 table{font-size:9pt}}
"""


def _header(summary: dict[str, Any]) -> list[str]:
  session = summary["session"]
  recording = session.get("recording") or {}
  name = recording.get("name") or session.get("source") or "session"
  photos = session.get("photos")
  title = "Photo report" if photos else "Class session report"
  facts = []
  if photos:
    faces = sum(row["faces"] for row in summary.get("photos", []))
    facts += [("photos", str(len(summary.get("photos", [])))), ("faces", str(faces))]
  else:
    facts += [("duration (m:ss)", wording.clock(session["duration_s"])),
              ("students", str(len(summary["students"])))]
  parts = [f"<h1>{title}</h1>",
           f"<p class='sub'>{html.escape(name)}"
           + ("" if photos else f" · {_when(recording)}") + "</p>",
           "<div class='facts'>" + "".join(
               f"<div class='fact'><b>{v}</b>{html.escape(k)}</div>" for k, v in facts)
           + "</div>",
           f"<p class='lead' id='in-words'>{html.escape(summary['class']['in_words']['mood'])}"
           f"<br><span class='note'>{html.escape(summary['class']['in_words']['unreadable'])}"
           "</span></p>"]
  return parts


def _class_table(summary: dict[str, Any], photos: bool) -> str:
  share = summary["class"]["emotion_share"]
  if photos:
    counts = wording.label_counts(summary["photos"], share)
    return _table(["reading", "faces", "share of faces"],
                  [[_label_cell(n), str(counts[n]), _pct(share[n])] for n in share],
                  "class-shares")
  return ("<p>Share of the students' visible time with each reading:</p>"
          + _table(["reading", "share"], [[_label_cell(n), _pct(share[n])] for n in share],
                   "class-shares"))


def _students_section(summary: dict[str, Any]) -> list[str]:
  session = summary["session"]
  labels = list(summary["class"]["emotion_share"])
  parts = ["<h2>Students</h2>"]
  if summary["students"]:
    rows = [[f"#{s['id']}", wording.clock(s["first_seen_s"] - session["start_s"]),
             wording.clock(s["last_seen_s"] - session["start_s"]),
             wording.clock(s["seconds_visible"]), _label_cell(s["dominant_state"])]
            + [_pct(s["emotion_share"][n]) for n in labels]
            for s in summary["students"]]
    parts.append(_table(["student", "first seen", "last seen", "visible", "most often"]
                        + [label_words(n) for n in labels], rows, "students"))
  else:
    parts.append("<p>No students were seen.</p>")
  if session.get("tracks_dropped"):
    parts.append(f"<p class='note' id='brief'>{session['tracks_dropped']} more faces were "
                 f"visible for under {session['min_seconds_visible']:g} s in all; they are "
                 "not listed and not counted above.</p>")
  pictures = (session.get("not_faces") or {}).get("pictures") or []
  if pictures:
    parts.append(f"<p class='note' id='pictures'>{len(pictures)} faces seen at the start "
                 "never moved (printed faces, a poster): they are not students, not "
                 "listed and not counted above.</p>")
  return parts


def _photos_section(summary: dict[str, Any]) -> list[str]:
  rows = []
  for row in summary.get("photos", []):
    found = ", ".join(f"{label_words(k)} {v}" for k, v in sorted(
        row["labels"].items(), key=lambda item: -item[1])) or "-"
    rows.append([html.escape(row["name"]), str(row["faces"]), html.escape(found)])
  return ["<h2>Photos</h2>", _table(["photo", "faces", "readings"], rows, "photos")]


def _how_to_read(summary: dict[str, Any], photos: bool) -> list[str]:
  session = summary["session"]
  small = session.get("too_small_px")
  what = "faces" if photos else "the students' visible time"
  items = [
      f"Each reading is the expression a model sees on a face. Shares are of {what}"
      + ("." if photos else "; a student who is not visible does not count."),
      "<b>uncertain</b>: the model could not settle on one expression"
      + ("." if photos else " (no emotion stood out over the last second)."),
      "<b>too small</b>: the face was too small in the picture to be read"
      + (f" (under {small:.0f} px)" if small else "") + ".",
  ]
  if not photos:
    items.insert(1, "Students are numbered in the order they were first seen; the "
                 "numbers mean nothing outside this session.")
  return ["<h2>How to read this</h2><ul>" + "".join(f"<li>{i}</li>" for i in items)
          + "</ul>"]


def _what_this_is_not(summary: dict[str, Any]) -> list[str]:
  files = summary["session"].get("files") or {}
  links = " · ".join(f"<a href='{html.escape(v)}'>{html.escape(v)}</a>"
                     for k, v in files.items() if k in ("frames_csv", "summary_json"))
  items = [
      "Readings estimate visible facial expression. They are not measurements of "
      "feelings, attention or learning.",
      "Not for grading, disciplining or judging a person: expressions depend on the "
      "face, the light and the moment.",
      "No images were stored. <code>frames.csv</code> keeps, per frame and face, the "
      "box, the detector's score and the model's probabilities; "
      "<code>summary.json</code> holds everything on this page.",
      "To delete this session, delete its folder: nothing else is kept anywhere.",
  ]
  return (["<h2>What this is not</h2><ul>" + "".join(f"<li>{i}</li>" for i in items)
           + "</ul>"]
          + ([f"<p>Files: {links}</p>"] if links else []))


def report_html(summary: dict[str, Any], path: str, images: dict[str, str]) -> None:
  """One self-contained page: the summary in words, the chart, the tables."""
  session = summary["session"]
  photos = bool(session.get("photos"))
  parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>{'Photo' if photos else 'Class session'} report</title>",
           f"<style>{_STYLE}</style></head><body>"]
  parts += _header(summary)
  if photos:
    parts += ["<h2>All faces</h2>", _class_table(summary, photos)]
    parts += _photos_section(summary)
  else:
    parts.append("<h2>The class over time</h2><div class='pair'><div>")
    if "class_timeline_png" in images:
      parts.append(f"<img src='{html.escape(images['class_timeline_png'])}' alt='Share of "
                   f"visible students per reading over time' width='{_SHOWN_PX}'>")
    parts += ["</div><div><h3>Whole session</h3>", _class_table(summary, photos),
              "</div></div>"]
    parts += _students_section(summary)
    if "students_heatmap_png" in images:
      parts.append(f"<img src='{html.escape(images['students_heatmap_png'])}' alt='Each "
                   f"student over time' width='{_SHOWN_PX}'>")
  parts += _how_to_read(summary, photos)
  parts += _what_this_is_not(summary)
  analysed = session.get("analysed_at") or ""
  parts.append(f"<p class='note'>Model: {html.escape(session.get('model_name') or '-')}. "
               f"Analysed {html.escape(analysed.replace('T', ' '))}.</p>")
  parts.append("</body></html>")
  files_lib.atomic_write_text(path, "\n".join(parts))


def write_all(summary: dict[str, Any], out_dir: str,
              failures: dict[str, str] | None = None) -> dict[str, str]:
  """Writes the PNGs (not for photos) and report.html; returns {name: relative path}
  of those written.

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

  if not summary["session"].get("photos"):
    attempt("class_timeline_png", CLASS_TIMELINE_PNG, class_timeline_png)
    attempt("students_heatmap_png", STUDENTS_HEATMAP_PNG, students_heatmap_png)
  attempt("report_html", REPORT_HTML, report_html, dict(files))
  return files
