"""Real `python -m bot` processes, forked from a parent that has imported the bot already.

Starting `python -m bot` costs two to three seconds of CPU before the command does anything:
Python starts, then python-telegram-bot, SQLAlchemy, Alembic and the bot are imported. The
command line tests start dozens of them. Here one parent process (`python -m tests.prefork`,
started with nothing but PATH in its environment) imports the bot once and forks a child for
each command. Each child is a process of its own: it takes exactly the given environment,
working directory and arguments, reads nothing, writes its stdout and stderr to files, runs
`bot/__main__.py` as `python -m bot` does and exits with the command's status (or dies by a
signal), so a test sees what a user sees. Only the interpreter start and the imports are
shared; tests/test_cli.py still starts `campaignbot run` the ordinary way.

    status, out, err = await run_bot({"DATABASE_URL": url}, "feeds", "list", cwd=tmp_path)

The parent speaks JSON lines on its stdin and stdout: {"argv", "env", "cwd", "stdout",
"stderr"} forks a child and answers {"pid"}; {"wait": pid} answers {"status"} once that child
has ended (as asyncio reports it: the exit code, or -N after signal N).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import importlib
import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, NoReturn

REPO_ROOT = Path(__file__).resolve().parents[1]


# -- the parent process -------------------------------------------------------------------------


def _serve() -> None:
    """Import the bot, then fork one child per request until stdin closes."""
    for module in ("bot.cli", "bot.app"):  # the point of the parent: imported before any fork
        importlib.import_module(module)
    gc.freeze()  # children then leave the imported objects alone (no copy-on-write by the GC)

    requests = sys.stdin.buffer
    answers = sys.stdout.buffer

    def answer(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message).encode() + b"\n")
        answers.flush()

    answer({"ready": os.getpid()})
    for line in requests:
        request = json.loads(line)
        if "wait" in request:
            try:
                _, status = os.waitpid(request["wait"], 0)
            except ChildProcessError as error:
                answer({"error": str(error)})
            else:
                answer({"status": _returncode(status)})
            continue
        pid = os.fork()
        if pid == 0:
            _child(request)
        answer({"pid": pid})


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _child(request: dict[str, Any]) -> NoReturn:
    """Become `python -m bot ARGV` in the requested environment; never returns."""
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the child
        os.chdir(request["cwd"])
        sys.path[0] = request["cwd"]  # as for `python -m`: the working directory comes first
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["-m", *request["argv"]]
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
    except SystemExit:
        raise  # the command's status: Python exits with it, after its usual clean-up
    except BaseException:  # pragma: no cover - a broken child must not become a second parent
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.exit(0)


# -- the tests' side ----------------------------------------------------------------------------


class _Parent:
    """The forking parent of this test process (one per process, started on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outputs = Path(tempfile.mkdtemp(prefix="prefork-"))
        self._count = 0
        self.running: set[BotProcess] = set()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.prefork"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
            env={"PATH": os.environ.get("PATH", "")},
        )
        self._call(None)  # wait until the bot is imported

    def _call(self, request: dict[str, Any] | None) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        with self._lock:
            if request is not None:
                self._process.stdin.write(json.dumps(request).encode() + b"\n")
                self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the prefork parent has died")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def spawn(self, env: dict[str, str], args: tuple[str, ...], cwd: Path) -> BotProcess:
        with self._lock:
            self._count += 1
            stem = self._outputs / str(self._count)
        out, err = stem.with_suffix(".out"), stem.with_suffix(".err")
        answer = self._call(
            {
                "argv": list(args),
                "env": env,
                "cwd": str(cwd),
                "stdout": str(out),
                "stderr": str(err),
            }
        )
        process = BotProcess(self, int(answer["pid"]), out, err)
        self.running.add(process)
        return process

    def wait(self, pid: int) -> int:
        answer = self._call({"wait": pid})
        if "error" in answer:
            raise ChildProcessError(answer["error"])
        return int(answer["status"])

    def kill_running(self) -> None:
        """SIGKILL and reap every child not waited for (a test that failed half-way)."""
        for process in list(self.running):
            self.running.discard(process)
            if process.returncode is None:
                process.kill()
                if process.waiting is None:  # else the thread waiting for it reaps it
                    process.returncode = self.wait(process.pid)

    def close(self) -> None:
        self.kill_running()
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        if self._process.stdout is not None:
            self._process.stdout.close()
        shutil.rmtree(self._outputs, ignore_errors=True)


class BotProcess:
    """One forked `python -m bot`, used like asyncio's Process: pid, send_signal, wait."""

    def __init__(self, parent: _Parent, pid: int, stdout: Path, stderr: Path) -> None:
        self._parent = parent
        self.pid = pid
        self.returncode: int | None = None
        self.waiting: asyncio.Future[int] | None = None
        self._stdout = stdout
        self._stderr = stderr

    def send_signal(self, sig: int) -> None:
        """Send a signal to the process, unless it has ended."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        """Wait until the process ends; its exit code, or -N after signal N."""
        if self.waiting is None:
            self.waiting = asyncio.ensure_future(asyncio.to_thread(self._parent.wait, self.pid))
        self.returncode = await asyncio.shield(self.waiting)
        self._parent.running.discard(self)
        return self.returncode

    def output(self) -> tuple[str, str]:
        """What it wrote on stdout and on stderr."""
        return _read(self._stdout), _read(self._stderr)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    finally:
        path.unlink(missing_ok=True)


_parent: _Parent | None = None
_parent_lock = threading.Lock()


def _shared_parent() -> _Parent:
    global _parent
    with _parent_lock:
        if _parent is None:
            _parent = _Parent()
            atexit.register(_parent.close)
        return _parent


def kill_leftovers() -> None:
    """Kill the children a test started and left running (called after every test)."""
    if _parent is not None:
        _parent.kill_running()


async def start_bot(env: dict[str, str], *args: str, cwd: Path) -> BotProcess:
    """Start `python -m bot ARGS` with exactly this environment (plus nothing) in `cwd`."""
    parent = await asyncio.to_thread(_shared_parent)
    return await asyncio.to_thread(parent.spawn, env, args, cwd)


async def run_bot(
    env: dict[str, str], *args: str, cwd: Path, timeout: float = 60
) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` to its end; return (status, stdout, stderr)."""
    process = await start_bot(env, *args, cwd=cwd)
    try:
        status = await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    out, err = process.output()
    return status, out, err


if __name__ == "__main__":
    _serve()
