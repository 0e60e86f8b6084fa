"""Debian's Chromium, headless, for the tests of a page a person looks at: the DOM once
the page's scripts have run, and a screenshot.

The flags keep Chromium off the network except for the page it is given (this machine's
network is closed: without them it keeps trying Google's hosts), and a fresh profile per
run keeps one test's cache and storage out of the next."""

from __future__ import annotations

import subprocess
import tempfile
from html.parser import HTMLParser

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--window-size=1280,1000"]


def run(url, *mode, budget_ms=8000):
    """Chromium on url in one mode (--dump-dom or --screenshot=path); the page's timers and
    requests run for budget_ms of virtual time first. Returns what it printed."""
    with tempfile.TemporaryDirectory(prefix="bundle-chromium-") as profile:
        completed = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", *mode, url],
            capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"chromium {' '.join(mode)} {url} exited {completed.returncode}: {completed.stderr[-2000:]}")
    return completed.stdout


def dom(url, budget_ms=8000):
    """The page's DOM, serialized, after its scripts ran."""
    return run(url, "--dump-dom", budget_ms=budget_ms)


def screenshot(url, path, budget_ms=8000):
    run(url, f"--screenshot={path}", budget_ms=budget_ms)
    return path


class ElementsById(HTMLParser):
    """Every element with an id: its attributes and its text."""

    def __init__(self):
        super().__init__()
        self.elements, self._open = {}, []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.elements[attributes["id"]] = {"tag": tag, **attributes, "text": ""}
            self._open.append((tag, attributes["id"]))
        else:
            self._open.append((tag, None))

    def handle_endtag(self, tag):
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, element_id in self._open:
            if element_id:
                self.elements[element_id]["text"] += data


def elements_by_id(html):
    parser = ElementsById()
    parser.feed(html)
    return parser.elements
