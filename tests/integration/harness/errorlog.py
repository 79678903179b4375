# SPDX-License-Identifier: Apache-2.0
"""The httpd error log, read incrementally: splits it into records, finds the ones a test must not
leave behind (error and worse, sanitizer reports, Python tracebacks) and waits for expected ones.
Tests allowlist message ids (WGnnnn, AHnnnnn), never text."""

import datetime
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Set

# "[Fri Nov 28 07:20:00.123456 2026] [wsgid:error] [pid 12:tid 34] ..." (httpd's default format;
# the daemons write the same shape).
_PREFIX = re.compile(
    r"^\[(?P<date>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d [^\]]*)\] "
    r"\[(?:(?P<module>[\w.-]+):)?(?P<level>[a-z]+\d?)\] "
    r"(?:\[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\] )?"
)
_ID = re.compile(r"\b(WG\d{4}|AH\d{5})\b")
_BAD_LEVELS = {"error", "crit", "alert", "emerg"}
_BAD_TEXT = ("Sanitizer", "Traceback", "Fatal Python error")
# httpd's own messages that are harmless once its children were told to stop: AH03092
# "process_lingering_close: apr_pollset_add failure" (Bad file descriptor) from the event MPM, when
# a worker still in a connection's lingering close meets the pollset its exiting child already
# closed (seen once, in the sanitizer build, between SIGTERM and the parent's AH00491 "caught
# SIGTERM", which httpd logs after its children are gone). Before a stop the same message would
# mean a descriptor closed behind httpd's back, so there it stays an error.
STOP_RACE_IDS = frozenset({"AH03092"})
# Bound on waiting for an expected record: a daemon respawn or a restart on a loaded CI machine.
LOG_WAIT_TIMEOUT = 15.0


@dataclass
class Record:
    """One log message: a prefixed line plus the lines that continue it (unprefixed lines, and
    id-less lines of the same thread at the same level, as a multi-line message is written)."""

    lines: List[str]
    module: str = ""
    level: str = ""
    pid: Optional[int] = None
    tid: Optional[int] = None
    ids: Set[str] = field(default_factory=set)
    # When it was logged (local time, as httpd and the daemons write it); None if unparsable.
    when: Optional[datetime.datetime] = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def is_bad(self) -> bool:
        if self.level in _BAD_LEVELS:
            return True
        return any(word in self.text for word in _BAD_TEXT)

    def is_stop_race(self, children_stopped_at: List[datetime.datetime]) -> bool:
        """Whether this is one of httpd's shutdown-race messages, logged once its children had
        been told to stop (at any of `children_stopped_at`)."""
        if not self.ids & STOP_RACE_IDS or self.when is None:
            return False
        return any(t <= self.when for t in children_stopped_at)


def _logged_at(date: str) -> Optional[datetime.datetime]:
    try:
        return datetime.datetime.strptime(date, "%a %b %d %H:%M:%S.%f %Y")
    except ValueError:
        return None


def parse(text: str) -> List[Record]:
    records: List[Record] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _PREFIX.match(line)
        if m is None:
            if records:
                records[-1].lines.append(line)
                records[-1].ids.update(_ID.findall(line))
            else:
                records.append(Record(lines=[line], ids=set(_ID.findall(line))))
            continue
        pid = int(m.group("pid")) if m.group("pid") else None
        tid = int(m.group("tid")) if m.group("tid") else None
        module = m.group("module") or ""
        level = m.group("level")
        ids = set(_ID.findall(line[m.end():]))
        prev = records[-1] if records else None
        if (
            prev is not None
            and not ids
            and prev.ids
            and prev.pid == pid
            and prev.tid == tid
            and prev.module == module
            and prev.level == level
        ):
            prev.lines.append(line)
            continue
        records.append(Record(lines=[line], module=module, level=level, pid=pid, tid=tid, ids=ids,
                              when=_logged_at(m.group("date"))))
    return records


class ErrorLog:
    """Reads one error log file from a remembered offset. Not thread-safe: test thread only."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def read(self, offset: int):
        """(text of the complete lines after `offset`, offset just after them)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return "", offset
        # Only whole lines: a line being written now is read next time.
        cut = data.rfind(b"\n") + 1
        return data[:cut].decode("utf-8", "replace"), offset + cut

    def read_from(self, offset: int) -> str:
        return self.read(offset)[0]

    def wait_for(self, pattern: str, offset: int = 0,
                 timeout: float = LOG_WAIT_TIMEOUT) -> Record:
        """The first record at or after `offset` whose text matches `pattern` (a regex); raises
        AssertionError with the log tail when none appears within `timeout` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for rec in parse(self.read_from(offset)):
                if regex.search(rec.text):
                    return rec
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no error-log record matching {pattern!r} within {timeout}s\n"
                    f"--- error log tail ---\n{self.tail()}"
                )
            time.sleep(0.05)

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return "(no error log)"
        return "\n".join(text.splitlines()[-lines:])
