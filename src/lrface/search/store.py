"""The gallery of record in SQLite: one file, WAL, one transaction per change.

Tables: ``meta`` (format, version, model, model_id, dim, index settings), ``identities`` (unique
names), ``templates`` (float32 embedding, r, quality, source file, content key, the recognizer's
digest, when; unique per identity and content), ``audit`` (every add and remove: when, what, how
many, which process). A ``Gallery`` read from the file is a snapshot for searching (its FAISS index
is derived from it in memory, rebuilt on every load, never the record); its changes since the load
are a journal that ``commit`` applies in one ``BEGIN IMMEDIATE`` transaction. So several processes
adding and removing at once lose nothing (each writes only its own rows; a duplicate of a row
another process added meanwhile is ignored by the unique key), and a process killed mid-write
leaves the last committed state (SQLite's journal).
"""
from __future__ import annotations

import datetime
import json
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import LrfaceError

MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60.0  # a writer waits this long for another's transaction (enrolments are milliseconds)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (
    id INTEGER PRIMARY KEY, identity INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    emb BLOB NOT NULL, r REAL NOT NULL, quality REAL NOT NULL, source TEXT NOT NULL, content TEXT NOT NULL,
    model_id TEXT NOT NULL, added TEXT NOT NULL, UNIQUE (identity, content));
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL,
    identity TEXT NOT NULL, templates INTEGER NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL);
"""


def is_sqlite(path: str | Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == MAGIC
    except OSError:
        return False


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def connect(path: str | Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)  # explicit transactions
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    return con


def _fail(path: str | Path, e: Exception) -> LrfaceError:
    return LrfaceError(f"{path}: not a readable lrface gallery ({str(e).splitlines()[0] if str(e) else e!r})")


def read(path: str | Path) -> dict[str, Any]:
    """Everything in the file as arrays (one consistent read transaction)."""
    try:
        con = connect(path)
        try:
            con.execute("BEGIN")
            meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
            people = con.execute("SELECT id, name FROM identities ORDER BY id").fetchall()
            names = [name for _, name in people]
            ids = {i: k for k, (i, _) in enumerate(people)}
            rows = con.execute("SELECT identity, emb, r, quality, source, content FROM templates ORDER BY id").fetchall()
            con.execute("COMMIT")
        finally:
            con.close()
    except sqlite3.Error as e:
        raise _fail(path, e) from None
    if meta.get("format") is None or "dim" not in meta:
        raise LrfaceError(f"{path}: an SQLite file, but not an lrface gallery")
    dim = int(meta["dim"])
    bad = [len(row[1]) for row in rows if len(row[1]) != 4 * dim]
    if bad:
        raise LrfaceError(f"{path}: {len(bad)} template(s) are not {dim} float32 values: the file is damaged")
    emb = np.frombuffer(b"".join(row[1] for row in rows), np.float32).reshape(len(rows), dim).copy()
    return {"meta": meta, "names": names, "emb": emb, "ident": np.array([ids[row[0]] for row in rows], np.int64),
            "r": np.array([row[2] for row in rows], np.float32), "quality": np.array([row[3] for row in rows], np.float32),
            "sources": [row[4] for row in rows], "content": [row[5] for row in rows]}


def create(path: str | Path, meta: dict[str, Any]) -> None:
    """A new, empty gallery file (refused when one exists: creating never overwrites a record)."""
    path = Path(path)
    try:
        con = connect(path)
        try:
            con.executescript(SCHEMA)
            con.execute("BEGIN IMMEDIATE")
            if con.execute("SELECT COUNT(*) FROM meta").fetchone()[0]:
                con.execute("ROLLBACK")
                raise LrfaceError(f"{path} already holds a gallery")
            con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
            con.execute("COMMIT")
        finally:
            con.close()
    except sqlite3.Error as e:
        raise LrfaceError(f"cannot write {path}: {e}") from None


def commit(path: str | Path, journal: Sequence[tuple], model_id: str) -> dict[str, int]:
    """Apply ``journal`` (("add", name, emb, r, quality, sources, content) and ("remove", name)) in
    one transaction; returns {"added": n, "removed": n}. Rows another writer already added are
    skipped (unique per identity and content)."""
    added = removed = 0
    pid, host = os.getpid(), socket.gethostname()
    try:
        con = connect(path)
        try:
            con.execute("BEGIN IMMEDIATE")
            stored = json.loads(con.execute("SELECT value FROM meta WHERE key = 'model_id'").fetchone()[0])
            if stored != model_id:
                con.execute("ROLLBACK")
                raise LrfaceError(f"{path} was made by another recognizer ({stored}); refusing to mix templates")
            for op in journal:
                if op[0] == "add":
                    _, name, emb, r, qual, sources, content = op
                    con.execute("INSERT OR IGNORE INTO identities (name, created) VALUES (?, ?)", (name, _now()))
                    (ident,) = con.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
                    before = con.total_changes
                    con.executemany(
                        "INSERT OR IGNORE INTO templates (identity, emb, r, quality, source, content, model_id, added) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(ident, np.asarray(e, np.float32).tobytes(), float(rr), float(q), str(s), str(c), model_id, _now())
                         for e, rr, q, s, c in zip(emb, r, qual, sources, content)])
                    n = con.total_changes - before
                    added += n
                    con.execute("INSERT INTO audit (at, action, identity, templates, pid, host) VALUES (?, 'add', ?, ?, ?, ?)",
                                (_now(), name, n, pid, host))
                else:
                    _, name = op
                    row = con.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
                    if row is None:
                        continue
                    n = con.execute("DELETE FROM templates WHERE identity = ?", row).rowcount
                    con.execute("DELETE FROM identities WHERE id = ?", row)
                    removed += n
                    con.execute("INSERT INTO audit (at, action, identity, templates, pid, host) "
                                "VALUES (?, 'remove', ?, ?, ?, ?)", (_now(), name, n, pid, host))
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()
    except sqlite3.Error as e:
        raise LrfaceError(f"cannot write {path}: {e}") from None
    return {"added": added, "removed": removed}


def audit(path: str | Path, limit: int = 100) -> list[dict[str, Any]]:
    con = connect(path)
    try:
        rows = con.execute("SELECT at, action, identity, templates, pid, host FROM audit ORDER BY id DESC LIMIT ?",
                           (limit,)).fetchall()
    finally:
        con.close()
    return [dict(zip(("at", "action", "identity", "templates", "pid", "host"), row)) for row in rows]
