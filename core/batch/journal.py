"""The job's memory: a SQLite file of every item's outcome and every upload.

Results are keyed by (item key, prompt digest): a rerun skips what is done for the same
prompt and model, retries what failed. Uploads are keyed by the target (a Label Studio
task, a CVAT frame) with the digest of what was sent, so a rerun sends a target again
only when its content changed. Each write is its own transaction; SQLite's journal
makes a ``kill -9`` lose at most the outcome being written, never corrupt the file.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from .work import Outcome

SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    item TEXT NOT NULL, prompt TEXT NOT NULL, rle TEXT, score REAL, reason TEXT, at REAL NOT NULL,
    PRIMARY KEY (item, prompt));
CREATE TABLE IF NOT EXISTS uploads (
    target TEXT PRIMARY KEY, remote TEXT NOT NULL, content TEXT NOT NULL, at REAL NOT NULL);
"""


class Journal:
    """Outcomes and uploads of one job, in ``path`` (created when missing)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def done(self, keys: Iterable[Tuple[str, str]]) -> Dict[str, Outcome]:
        """The successful outcomes among ``(item, prompt)`` pairs, by item key."""
        found = {}
        for item, prompt in keys:
            row = self._db.execute("SELECT rle, score FROM outcomes WHERE item=? AND prompt=? AND reason IS NULL",
                                   (item, prompt)).fetchone()
            if row is not None:
                found[item] = Outcome(item, json.loads(row[0]), row[1])
        return found

    def record(self, outcomes: Iterable[Tuple[Outcome, str]]) -> None:
        """Store ``(outcome, prompt digest)`` pairs in one transaction (a rerun's result replaces the old)."""
        now = time.time()
        rows = [(o.key, p, None if o.rle is None else json.dumps(o.rle), o.score, o.reason, now) for o, p in outcomes]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?)", rows)

    def upload(self, target: str) -> Optional[Tuple[str, str]]:
        """``(remote id, content digest)`` last sent to ``target``, or ``None``."""
        row = self._db.execute("SELECT remote, content FROM uploads WHERE target=?", (target,)).fetchone()
        return None if row is None else (row[0], row[1])

    def remotes(self, prefix: str) -> List[str]:
        """The remote ids recorded for every target starting with ``prefix``."""
        rows = self._db.execute("SELECT remote FROM uploads WHERE substr(target, 1, ?) = ?", (len(prefix), prefix))
        return [row[0] for row in rows]

    def uploaded(self, target: str, remote: str, content: str) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?)", (target, remote, content, time.time()))
