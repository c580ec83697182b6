"""Render an HTML report in headless Chromium with networking off; fail if a figure did not render or
the page asked for anything outside itself. Writes a screenshot.

    python tools/check_report.py REPORT.html --screenshot OUT.png

Chromium runs with every host mapped to nowhere and a dead proxy, so a request for anything but
the page itself fails. A copy of the report gets a small script that, once the page has loaded,
writes into the DOM how many images there are, which of them did not decode, and every resource
the page requested; `--dump-dom` prints that DOM.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const requested = performance.getEntriesByType("resource").map(e => e.name);
  const out = document.createElement("pre");
  out.id = "report-check";
  out.textContent = JSON.stringify({images: images.length, broken: broken, requested: requested});
  document.body.appendChild(out);
});
</script>"""

OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--virtual-time-budget=10000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("no chromium on PATH (Debian: apt-get install chromium)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, required=True)
    parser.add_argument("--min-images", type=int, default=1)
    args = parser.parse_args()
    browser = chromium()
    html = args.report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        dom = subprocess.run(
            [browser, *OFFLINE, f"--user-data-dir={tmp}/profile", "--dump-dom", probe.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
        subprocess.run(
            [
                browser,
                *OFFLINE,
                f"--user-data-dir={tmp}/profile",
                "--window-size=1280,4000",
                f"--screenshot={args.screenshot.resolve()}",
                args.report.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    found = re.search(r'<pre id="report-check">(.*?)</pre>', dom.stdout, re.S)
    if not found:
        print(
            f"{args.report}: the page did not finish loading in Chromium\n{dom.stderr[-2000:]}",
            file=sys.stderr,
        )
        return 1
    check = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    problems = []
    if check["images"] < args.min_images:
        problems.append(f"{check['images']} images, expected at least {args.min_images}")
    if check["broken"]:
        problems.append(f"figures that did not render: {', '.join(check['broken'])}")
    if check["requested"]:
        problems.append(f"requests outside the page (they fail offline): {', '.join(check['requested'])}")
    if not args.screenshot.is_file() or args.screenshot.stat().st_size == 0:
        problems.append("no screenshot was written")
    for problem in problems:
        print(f"{args.report}: {problem}", file=sys.stderr)
    if not problems:
        print(
            f"{args.report}: {check['images']} figures rendered, no outside request; screenshot {args.screenshot}"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
