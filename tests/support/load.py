"""A bounded load loop of real requests (release drills and their benchmark): GET one URL
at a fixed rate in a thread, for at most a time limit; every answer that is not 200 and
every request that got no answer is a failed request."""

from __future__ import annotations

import threading
import time

import requests


class Load:
    def __init__(self, url, rate=10.0, limit_seconds=300.0, timeout=5.0):
        self.url, self.interval, self.limit, self.timeout = url, 1.0 / rate, limit_seconds, timeout
        self.sent, self.failed, self.stop = 0, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        started = time.monotonic()
        while not self.stop.is_set() and time.monotonic() - started < self.limit:
            try:
                code = requests.get(self.url, timeout=self.timeout).status_code
            except requests.RequestException as exc:
                code = type(exc).__name__
            self.sent += 1
            if code != 200:
                self.failed.append(code)
            self.stop.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join()
