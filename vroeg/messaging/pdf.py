"""HTML to PDF with WeasyPrint, in this process or in several at once.

No Django here: worker processes (spawned, so safe beside threads and open database
connections) import only this module and WeasyPrint. One FontConfiguration and one
parsed style sheet serve every PDF a process writes (measured about 1.4x the PDFs
per second of a fresh configuration each time).

Writing is atomic (a temporary file renamed into place): a crash leaves the old file
or none, never half a letter; writing the same letter again gives the same file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

log = logging.getLogger("vroeg.messaging")

#: Below this many letters the workers' start-up (about 1 s each, importing
#: WeasyPrint) costs more than it saves.
MIN_PARALLEL = 12
JOBS_PER_WORKER = 6
#: A batch (at most 200 letters) that takes longer has a hanging worker.
BATCH_TIMEOUT_S = 600


#: Letters, dossiers, signal files: the owner writes, its group reads, nobody else.
FILE_MODE = 0o640


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Let ``write`` produce a temporary file beside ``path``, flush it to disk and
    rename it into place (atomic on POSIX and Windows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # 0640, not mkstemp's 0600: a web server in the owner's group (another user) reads
    # the dossiers and letters; others never (personal data).
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class PdfWriter:
    """WeasyPrint with a shared font configuration and style sheet. Only ``data:``
    URLs may be fetched: letters need nothing from outside."""

    def __init__(self, css: Path, base_url: Path) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

        self.base_url = str(base_url)
        self.font_config = FontConfiguration()
        self.url_fetcher = URLFetcher(allowed_protocols=("data",))
        self.css = CSS(string=css.read_text(encoding="utf-8"), font_config=self.font_config,
                       url_fetcher=self.url_fetcher)

    def write(self, html: str, target: Path) -> None:
        """Write the PDF straight to ``target`` (the caller makes it atomic)."""
        from weasyprint import HTML

        doc = HTML(string=html, base_url=self.base_url, url_fetcher=self.url_fetcher)
        doc.write_pdf(target, stylesheets=[self.css], font_config=self.font_config)

    def write_atomic(self, html: str, target: Path) -> None:
        atomic_write(target, lambda tmp: self.write(html, tmp))


_worker: PdfWriter | None = None


def _start_worker(css: str, base_url: str) -> None:
    global _worker
    _worker = PdfWriter(Path(css), Path(base_url))


def _write_in_worker(html: str, target: str) -> None:
    assert _worker is not None, "worker not started"
    _worker.write_atomic(html, Path(target))


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class PdfPool:
    """Worker processes that write PDFs side by side; started on the first batch
    big enough to be worth it, stopped by ``close``. At most one worker per
    JOBS_PER_WORKER letters of a batch: each costs about a second to start."""

    def __init__(self, css: Path, base_url: Path, workers: int) -> None:
        self.css, self.base_url, self.workers = css, base_url, workers
        self._pool: ProcessPoolExecutor | None = None
        self.size = 0  # workers of the running pool

    def write_many(self, jobs: Sequence[tuple[str, Path]]) -> list[BaseException | None]:
        """Write each (html, target) atomically; per job None, or the error that
        stopped it (the caller writes that one again itself, where the error is
        recorded against its message). Fewer than MIN_PARALLEL jobs, or one worker:
        nothing is written here, every job answers with NotParallel."""
        if self.workers < 2 or len(jobs) < MIN_PARALLEL:
            return [NotParallel() for _ in jobs]
        out: list[BaseException | None] = [NotParallel()] * len(jobs)
        try:
            wanted = min(self.workers, -(-len(jobs) // JOBS_PER_WORKER))
            if self._pool is not None and self.size < wanted:
                # A bigger batch than the first one: more workers (the first batch of
                # a day may hold a dozen letters, the next ones hundreds).
                self.close()
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    wanted, mp_context=get_context("spawn"), initializer=_start_worker,
                    initargs=(str(self.css), str(self.base_url)))
                self.size = wanted
            futures: dict[Any, int] = {
                self._pool.submit(_write_in_worker, html, str(target)): i
                for i, (html, target) in enumerate(jobs)}
        except Exception as exc:  # noqa: BLE001 - no workers here (a daemon process, limits)
            return self._give_up(f"no worker processes ({type(exc).__name__})",
                                 [exc for _ in jobs])
        try:
            for future in as_completed(futures, timeout=BATCH_TIMEOUT_S):
                out[futures[future]] = future.exception()
        except TimeoutError:  # a worker hangs: the rest is written one by one
            return self._give_up(f"workers took over {BATCH_TIMEOUT_S} s", out)
        if any(isinstance(e, BrokenProcessPool) for e in out):  # killed, out of memory
            return self._give_up("a worker process died", out)
        return out

    def _give_up(self, why: str, out: list[BaseException | None]) -> list[BaseException | None]:
        """No more workers in this process: the dispatcher writes every letter itself."""
        log.warning("letters: %s; written one by one from now on", why)
        self.close(kill=True)
        self.workers = 1
        return out

    def close(self, kill: bool = False) -> None:
        if self._pool is None:
            return
        pool, self._pool, self.size = self._pool, None, 0
        if kill:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=not kill, cancel_futures=True)


class NotParallel(Exception):
    """The job was left for the caller: too few to start workers for."""
