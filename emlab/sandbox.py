"""Where a student's code runs when a class is graded: a bubblewrap sandbox with limits.

Each submission's notebook runs in a sandbox of its own, made by Debian's ``bubblewrap``
(``bwrap``): new user, process, network, IPC and host-name namespaces, so the code runs as
user 65534 (``nobody``) with no capabilities, sees only its own processes, has no network
(not even loopback to the host), and cannot make a user namespace of its own. Its file
system is a fresh one holding, read-only, only what Python needs (``/usr``, the Python
installation, the virtual environment and a copy of the ``emlab`` package made for this
grading run), plus two small writable folders in memory: ``/tmp`` and its work folder
``/submission`` with a copy of the submission. The instructor's repository, ``autograder/``, the other submissions, the
grading process and its environment variables are not in it. Limits (:class:`Limits`) are
set on the process with ``setrlimit`` (address space, file size, processes, no core files)
and a wall clock the grader enforces by killing the sandbox's process group.

``bwrap`` run by an unprivileged user maps the sandbox's user to that user outside; run
by root it maps it to root outside, still without any capability, and every bound folder
but the sandbox's own is mounted read-only. :func:`detect` tries the first (as ``nobody``)
and falls back to the second, and says which one ran.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "Sandbox", "SandboxUnavailable", "detect"]

NOBODY = 65534
MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    Attributes
    ----------
    time : float
        Wall-clock seconds for the whole submission: running its notebook and its tests.
        The sandbox is killed when they are up, and the submission's status is ``timeout``.
    cell_time : float
        Seconds for one cell (or one call of a student's function by a test). A cell that
        takes longer is interrupted, counts as an error, and the notebook goes on.
    memory : int
        Bytes of address space (``RLIMIT_AS``). An allocation beyond it raises
        ``MemoryError`` in the student's code.
    disk : int
        Bytes the sandbox may write (its ``/tmp`` and work folder, and any one file).
    processes : int
        Processes and threads the sandbox's user may have at once.
    """

    time: float = 300.0
    cell_time: float = 60.0
    memory: int = 3 * 1024 * MiB
    disk: int = 256 * MiB
    processes: int = 256


class SandboxUnavailable(RuntimeError):
    """No way to isolate students' code was found on this machine."""


def _python_roots() -> list[Path]:
    """The folders the running Python needs: its installation and its virtual environment."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(Path(path).resolve())
    roots.add(Path(sys.executable).resolve().parent)
    kept = []
    for root in sorted(roots, key=lambda p: len(p.parts)):
        if str(root).startswith("/usr/") or root == Path("/usr"):
            continue  # bound with /usr anyway
        if not any(root.is_relative_to(parent) for parent in kept):
            kept.append(root)
    return kept


@dataclass
class Sandbox:
    """How submissions are isolated: ``kind`` is ``bwrap`` or ``none`` (no isolation)."""

    kind: str
    description: str
    bwrap: str | None = None
    as_nobody: bool = False

    @property
    def isolated(self) -> bool:
        return self.kind != "none"

    def command(
        self,
        workdir: Path,
        runtime: Path,
        argv: list[str],
        limits: Limits,
        files: dict[str, int] | None = None,
    ) -> list[str]:
        """The command that runs ``argv`` in the sandbox.

        Its work folder is a fresh ``/submission`` (a tmpfs) holding ``files``, each name
        read from an open file descriptor; only without a sandbox is it ``workdir``.
        """
        python = str(Path(sys.executable).absolute())
        env = {
            "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp",
            "PYTHONPATH": "/opt/emlab-runtime",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": "C.UTF-8",
        }
        if self.kind == "none":
            return [python, *argv]
        cmd = [self.bwrap]
        # --unshare-user with an explicit uid: the code runs as nobody, with no capability
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY), "--disable-userns"]
        cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        cmd += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
        cmd += ["--hostname", "sandbox"]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib64", "sbin"):
            link = Path("/") / name
            if link.is_symlink():
                cmd += ["--symlink", os.readlink(link), f"/{name}"]
            elif link.is_dir():
                cmd += ["--ro-bind", str(link), f"/{name}"]
        for name in ("/etc/alternatives", "/etc/fonts", "/etc/ld.so.cache", "/etc/localtime"):
            if Path(name).exists():
                cmd += ["--ro-bind", name, name]
        # /tmp first: a Python installation (a virtual environment, say) under /tmp is then
        # bound on top of the sandbox's empty /tmp instead of being hidden by it
        cmd += ["--size", str(limits.disk), "--tmpfs", "/tmp"]
        for root in _python_roots():
            cmd += ["--ro-bind", str(root), str(root)]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        cmd += ["--ro-bind", str(runtime), "/opt/emlab-runtime"]
        cmd += ["--size", str(limits.disk), "--tmpfs", "/submission"]
        for name, fd in (files or {}).items():
            cmd += ["--file", str(fd), f"/submission/{name}"]
        cmd += ["--chdir", "/submission"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return [*cmd, "--", python, *argv]

    def start(
        self,
        workdir: Path,
        runtime: Path,
        argv: list[str],
        limits: Limits,
        files: dict[str, Path] | None = None,
    ) -> subprocess.Popen:
        """Start ``argv`` in the sandbox with copies of ``files`` in its work folder.

        Its stdin and stdout are pipes to the caller.
        """
        files = files or {}
        # bwrap itself starts with an empty environment: --clearenv empties the sandboxed
        # program's, but bwrap's own process is the sandbox's process 1, whose environment any
        # code inside can read in /proc/1/environ (the grader's secrets, tokens and paths)
        env = {"PATH": "/usr/bin:/bin"}
        if self.kind == "none":
            env = {"PYTHONPATH": str(runtime), "MPLBACKEND": "Agg", "HOME": str(workdir)}
            env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
            for name, path in files.items():
                shutil.copyfile(path, Path(workdir) / name)
            files = {}
        descriptors = {name: os.open(path, os.O_RDONLY) for name, path in files.items()}
        command = self.command(workdir, runtime, argv, limits, descriptors)

        def limit() -> None:
            _set_limit(resource.RLIMIT_AS, limits.memory)
            _set_limit(resource.RLIMIT_FSIZE, limits.disk)
            _set_limit(resource.RLIMIT_CORE, 0)
            if self.kind != "none":
                _set_limit(resource.RLIMIT_NPROC, limits.processes)

        if self.as_nobody:
            command = [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                *command,
            ]
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=workdir,
                env=env,
                preexec_fn=limit,
                start_new_session=True,
                pass_fds=list(descriptors.values()),
            )
        finally:
            for fd in descriptors.values():
                os.close(fd)


def _set_limit(kind: int, value: int) -> None:
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))


def kill(process: subprocess.Popen) -> None:
    """Kill a sandbox and everything in it (its process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.kill()
    except ProcessLookupError:
        pass
    process.wait()


def _probe(sandbox: Sandbox) -> bool:
    """Whether ``sandbox`` can start this Python and import numpy (a two-second test)."""
    with tempfile.TemporaryDirectory(prefix="emlab-probe-") as tmp:
        work, runtime = Path(tmp) / "work", Path(tmp) / "runtime"
        work.mkdir()
        runtime.mkdir()
        for path in (Path(tmp), work, runtime):
            path.chmod(0o755)
        work.chmod(0o777)
        argv = ["-c", "import os, numpy; print(os.getuid())"]
        try:
            process = sandbox.start(work, runtime, argv, Limits())
            out, _ = process.communicate(timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        return process.returncode == 0 and out.strip() == str(NOBODY).encode()


def detect(allow_unsafe: bool = False) -> Sandbox:
    """The best isolation this machine offers, tried in order.

    1. ``bwrap`` started as user ``nobody`` (the sandbox is nobody outside it too); this
       needs the Python installation to be readable by everyone.
    2. ``bwrap`` started by root with a user namespace: nobody inside, no capabilities,
       every folder but the sandbox's own read-only.
    3. No isolation (each submission still runs in a process of its own, with the limits):
       only with ``allow_unsafe``, otherwise :class:`SandboxUnavailable` is raised.

    A Docker daemon is noticed and named in the error, but not used: install bubblewrap
    (``apt-get install bubblewrap``), which needs no daemon.
    """
    bwrap = shutil.which("bwrap")
    tried = []
    if bwrap:
        if os.geteuid() == 0 and shutil.which("setpriv"):
            candidate = Sandbox(
                "bwrap",
                f"bubblewrap ({bwrap}) started as user nobody: new user, process and network "
                "namespaces, read-only system folders",
                bwrap,
                as_nobody=True,
            )
            if _probe(candidate):
                return candidate
            tried.append("bwrap as nobody (the Python installation is not readable by nobody)")
        who = "root" if os.geteuid() == 0 else "this user"
        candidate = Sandbox(
            "bwrap",
            f"bubblewrap ({bwrap}) started by {who}: user nobody in a user namespace without "
            "capabilities, new process and network namespaces, read-only system folders",
            bwrap,
        )
        if _probe(candidate):
            return candidate
        tried.append("bwrap with a user namespace (it failed to start Python)")
    else:
        tried.append("bwrap (not installed: apt-get install bubblewrap)")
    if shutil.which("docker"):
        running = subprocess.run(["docker", "info"], capture_output=True).returncode == 0
        tried.append(
            "Docker (a daemon is running, but emlab does not drive Docker: use bubblewrap)"
            if running
            else "Docker (no daemon running)"
        )
    if allow_unsafe:
        return Sandbox(
            "none",
            "NO ISOLATION (--no-sandbox): students' code runs with the grader's rights, "
            "in a process of its own with the limits",
        )
    raise SandboxUnavailable(
        "no sandbox to run students' code in; tried: "
        + "; ".join(tried)
        + ". Install bubblewrap, or pass --no-sandbox to grade without isolation "
        "(only for code you trust)."
    )
