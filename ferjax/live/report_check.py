"""A session report as a browser shows it: headless Chromium, at a phone's and a laptop's width.

    chromium = find_chromium()            # None: no browser installed
    facts = measure(chromium, "session/report.html", width=390)
    screenshot(chromium, "session/report.html", 390, "report_390.png")

`measure` shows the page in a frame of the width asked for, in a harness page
written beside it (so its images load; removed after) whose script reports, once
the page has loaded: the page's and the frame's widths (sideways scrolling), the
images and how many loaded, the smallest text size, the sentence in words, and
the class table's cells.
Used by the report's tests and by `tools/report_screenshots.py`; Chromium is
Debian's `chromium` package (or Chrome) on the PATH, never downloaded.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
          "--no-first-run", "--disable-extensions", "--mute-audio",
          "--run-all-compositor-stages-before-draw",
          "--allow-file-access-from-files")  # The harness reads its frame's page.

# Headless Chromium's window is at least 500 px wide: the page is shown in a frame of
# the width asked for, inside a harness page whose script measures the frame.
_MIN_WINDOW = 500
_HARNESS = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="page" src="%(page)s" style="width:%(width)dpx;height:%(height)dpx;border:0">
</iframe><script>
document.getElementById("page").addEventListener("load", function () {
  var doc = this.contentDocument, win = this.contentWindow;
  var images = Array.prototype.slice.call(doc.images);
  var text = doc.querySelectorAll("p, li, td, th, h1, h2, h3");
  var sizes = Array.prototype.map.call(text, function (e) {
    return parseFloat(win.getComputedStyle(e).fontSize); });
  var rows = doc.querySelectorAll("table.class-shares tbody tr");
  var facts = {
    page_width: doc.documentElement.scrollWidth,
    window_width: win.innerWidth,
    images: images.length,
    images_loaded: images.filter(function (i) {
      return i.complete && i.naturalWidth > 0; }).length,
    smallest_text_px: Math.min.apply(null, sizes),
    in_words: (doc.getElementById("in-words") || {}).textContent || "",
    class_table: Array.prototype.map.call(rows, function (r) {
      return Array.prototype.map.call(r.cells, function (c) { return c.textContent; }); })
  };
  var out = document.createElement("pre");
  out.id = "ferjax-probe";
  out.textContent = JSON.stringify(facts);
  document.body.appendChild(out);
});
</script></body></html>"""


class BrowserError(RuntimeError):
  """Chromium did not render the page."""


def find_chromium() -> str | None:
  """Path of an installed Chromium or Chrome, or None."""
  for name in BROWSERS:
    path = shutil.which(name)
    if path:
      return path
  return None


def _run(chromium: str, args: list[str], timeout_s: float) -> str:
  with tempfile.TemporaryDirectory() as profile:
    command = [chromium, *_FLAGS, f"--user-data-dir={profile}", *args]
    try:
      done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                            check=False)
    except subprocess.TimeoutExpired as e:
      raise BrowserError(f"{chromium} took over {timeout_s:g} s") from e
  if done.returncode:
    raise BrowserError(f"{chromium} failed ({done.returncode}): {done.stderr[-500:]}")
  return done.stdout


class _Harness:
  """The harness page beside `page` (so relative paths hold), removed on exit."""

  def __init__(self, page: str, width: int, height: int):
    folder = os.path.dirname(os.path.abspath(page))
    self.path = os.path.join(folder, f".report_check_{os.getpid()}_{width}.html")
    self.text = _HARNESS % {"page": os.path.basename(page), "width": width,
                            "height": height}

  def __enter__(self) -> str:
    with open(self.path, "w", encoding="utf-8") as f:
      f.write(self.text)
    return "file://" + self.path

  def __exit__(self, *exc_info) -> None:
    os.remove(self.path)


def measure(chromium: str, page: str, width: int, height: int = 900,
            timeout_s: float = 60.0) -> dict[str, Any]:
  """What the page looks like at `width` CSS pixels (see the module docstring)."""
  with _Harness(page, width, height) as url:
    dom = _run(chromium, [f"--window-size={max(width, _MIN_WINDOW)},{height}",
                          "--virtual-time-budget=10000", "--dump-dom", url], timeout_s)
  found = re.search(r'<pre id="ferjax-probe">(.*?)</pre>', dom, re.S)
  if not found:
    raise BrowserError(f"the page's probe did not run at {width} px")
  return json.loads(html.unescape(found.group(1)))


def screenshot(chromium: str, page: str, width: int, out_png: str, height: int = 1600,
               timeout_s: float = 60.0) -> str:
  """A `width` x `height` PNG of the top of the page."""
  import cv2  # pylint: disable=g-import-not-at-top
  out_png = os.path.abspath(out_png)
  with _Harness(page, width, height) as url:
    _run(chromium, [f"--window-size={max(width, _MIN_WINDOW)},{height}",
                    "--virtual-time-budget=10000", f"--screenshot={out_png}", url], timeout_s)
  image = cv2.imread(out_png, cv2.IMREAD_COLOR)
  if image is None:
    raise BrowserError(f"{chromium} wrote no screenshot at {width} px")
  cv2.imwrite(out_png, image[:height, :width])
  return out_png
