"""The run directory: one folder per study, the same layout for every backend.

results/<study>/
  manifest.json      backend, storage (password redacted), space file, seed, settings, created, versions
  space.yaml         the space file exactly as searched (resume and finalize read this copy)
  study.db           Optuna SQLite storage (default; any Optuna storage URL may be used instead)
  workers.json       host:pid of the live search (driver, then workers): resume refuses while one is alive,
                     and uses it to spot interrupted trials
  report.json, report.md, model.pt, best_config.yaml   written by finalize
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl.space.errors import UserInputError

DEFAULT_ROOT = Path("results")
MANIFEST = "manifest.json"


SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "pass", "secret", "token", "sslpassword"})
_MASK = "***"


def redact_url(url: str | None) -> str | None:
    """Hide the secrets of a storage URL before it is printed or saved: the password
    (postgresql://user:secret@host/db -> postgresql://user:***@host/db), also one holding `@` or `:`, and
    query parameters such as `?password=...`. Parsed by SQLAlchemy (what Optuna's RDB storage uses), so what is
    hidden is what the database driver would read as a secret; a URL with nothing to hide is returned unchanged
    (the manifest compares the two to know whether the storage must be given again on resume)."""
    if url is None:
        return None
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # not an SQLAlchemy URL (a journal file path) or unparsable: hide conservatively
        return _redact_unparsed(url)
    password, host = parsed.password, parsed.host or ""
    if "@" in host:  # user:p@ss@host: SQLAlchemy stops the password at the first @; the rest of it is in host
        leaked, _, host = host.rpartition("@")
        password = f"{password or ''}@{leaked}"
    secret_keys = [k for k in parsed.query if k.lower() in SECRET_QUERY_KEYS]
    if password is None and not secret_keys:
        return url
    query = {k: (_MASK if k in secret_keys else v) for k, v in parsed.query.items()}
    safe = parsed.set(host=host or None, query=query, password="x" if password is not None else None)
    # hide_password renders the password as ***; the query's *** comes back percent-encoded: shown as typed
    return safe.render_as_string(hide_password=True).replace("%2A%2A%2A", _MASK)


def _redact_unparsed(url: str) -> str:
    """Fallback for a URL SQLAlchemy cannot parse: mask everything between `scheme://user:` and the last `@`
    (over-hiding is safe), and secret query parameters."""
    keys = "|".join(sorted(SECRET_QUERY_KEYS))
    out = re.sub(rf"([?&;](?:{keys})=)[^&;]*", rf"\1{_MASK}", url, flags=re.IGNORECASE)
    scheme, sep, rest = out.partition("://")
    if sep and "@" in rest:
        userinfo, _, tail = rest.rpartition("@")
        if ":" in userinfo:
            out = f"{scheme}://{userinfo.split(':', 1)[0]}:{_MASK}@{tail}"
    return out


def check_study_name(study: str, where: str = "--study") -> None:
    """A study name becomes one folder under the results root: refuse anything that would put it elsewhere
    (a path separator, `..`, an absolute path), before anything is written."""
    bad = (not study or study in (".", "..") or "/" in study or "\\" in study or "\0" in study
           or Path(study).is_absolute() or Path(study).name != study or (study[1:2] == ":" and study[:1].isalpha()))
    if bad:
        raise UserInputError(
            f"{where} {study!r} is not a valid study name: it names the run's folder under the results directory, "
            "so it must be a single folder name (e.g. `mnist1d_cnn-2`), without `/`, `\\`, a drive, `..` or "
            "an absolute path. Pick another with --study NAME (nothing was written).")


WORKERS = "workers.json"


def write_holders(run_dir: Path, pids: list[int]) -> None:
    """The processes searching this run now, as host:pid (the driver first, then its workers); [] when none."""
    host = socket.gethostname()
    tmp = run_dir / (WORKERS + ".tmp")
    tmp.write_text(json.dumps([f"{host}:{p}" for p in pids]))
    os.replace(tmp, run_dir / WORKERS)


def live_holders(run_dir: Path) -> list[str]:
    """The host:pid entries of workers.json still alive. A pid on this host counts only if that process is
    running and (Linux) started before the file was written, so a pid reused after a crash or a reboot is not
    taken for the search; an entry of another host cannot be checked and counts as alive."""
    path = Path(run_dir) / WORKERS
    try:
        entries, written = json.loads(path.read_text()), path.stat().st_mtime
    except (OSError, ValueError):
        return []
    host, live = socket.gethostname(), []
    for w in entries:
        h, _, pid = str(w).rpartition(":")
        if h != host:
            live.append(w)
            continue
        try:
            os.kill(int(pid), 0)
        except (OSError, ValueError):
            continue
        state, started = _process_state(int(pid))
        if state in ("Z", "X"):  # exited, not yet reaped (an orphan in a container without an init)
            continue
        if started is None or started <= written + 2.0:  # /proc times are whole seconds and clock ticks
            live.append(w)
    return live


def _process_state(pid: int) -> tuple[str, float | None]:
    """The process's state letter and when it started (epoch seconds), from /proc on Linux; ("", None)
    elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()  # after the command name
        btime = next(int(ln.split()[1]) for ln in Path("/proc/stat").read_text().splitlines()
                     if ln.startswith("btime "))
        return fields[0], btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # fields 3 and 22 of stat
    except (OSError, ValueError, IndexError, StopIteration):
        return "", None


def check_not_held(info: RunInfo) -> None:
    """Refuse to search a run that another live search holds: two searches on one run would run the same
    re-queued trials twice and each would empty the other's workers.json."""
    live = [w for w in live_holders(info.run_dir) if w != f"{socket.gethostname()}:{os.getpid()}"]
    if live:
        pids = ", ".join(live)
        raise UserInputError(
            f"Run {info.run_dir} is being searched right now by process(es) {pids} (listed in "
            f"{info.run_dir / WORKERS}). Stop that search first (`kill PID` stops it cleanly and its running "
            "trial is re-queued) or wait for it to finish, then resume. If those processes are on another "
            f"machine that is gone, delete {info.run_dir / WORKERS}.")


def default_storage(run_dir: Path) -> str:
    return f"sqlite:///{(run_dir / 'study.db').resolve()}"


@dataclass
class RunInfo:
    study: str
    run_dir: Path
    backend: str  # "optuna" | "ray"
    storage: str | None  # as given (may contain a password: never print it, use redact_url)
    space_file: str  # the copy inside the run dir
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    source_space: str = ""

    @property
    def space_path(self) -> Path:
        return self.run_dir / "space.yaml"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["run_dir"] = str(self.run_dir)
        d["storage"] = redact_url(self.storage)
        d["storage_redacted"] = self.storage != redact_url(self.storage)
        d["environment"] = environment()
        return d

    def save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.run_dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, default=str))
        os.replace(tmp, self.run_dir / MANIFEST)


def create_run(study: str, space_file: Path, *, backend: str, storage: str | None, seed: int,
               settings: dict[str, Any], root: Path = DEFAULT_ROOT, exist_ok: bool = False) -> RunInfo:
    check_study_name(study)
    run_dir = (root / study).resolve()
    if (run_dir / MANIFEST).exists() and not exist_ok:
        raise UserInputError(
            f"Run directory {run_dir} already holds study {study!r}. Continue it with `automl resume {run_dir}`, "
            f"or pick another name with --study NAME (nothing was changed).")
    run_dir.mkdir(parents=True, exist_ok=True)
    if Path(space_file).resolve() != (run_dir / "space.yaml").resolve():
        shutil.copyfile(space_file, run_dir / "space.yaml")
    info = RunInfo(study=study, run_dir=run_dir, backend=backend, storage=storage or default_storage(run_dir),
                   space_file=str(run_dir / "space.yaml"), seed=seed, settings=settings,
                   source_space=str(Path(space_file).resolve()))
    info.save()
    return info


def load_run(run: str | Path, root: Path = DEFAULT_ROOT, storage: str | None = None) -> RunInfo:
    """A run by directory path or study name (looked up under `root`)."""
    path = Path(run)
    if not (path / MANIFEST).exists():
        path = root / str(run)
    if not (path / MANIFEST).exists():
        known = sorted(p.parent.name for p in root.glob(f"*/{MANIFEST}")) if root.exists() else []
        raise UserInputError(
            f"No run found at {run!r}: expected a folder with {MANIFEST} (a path, or a study name under {root}/). "
            f"Known runs: {', '.join(known) if known else 'none'}.")
    d = json.loads((path / MANIFEST).read_text())
    stored = d.get("storage")
    if d.get("storage_redacted") and storage is None:
        raise UserInputError(
            f"Run {path} uses a storage whose password was not saved ({stored}); pass it again with --storage URL.")
    return RunInfo(study=d["study"], run_dir=path.resolve(), backend=d["backend"], storage=storage or stored,
                   space_file=d.get("space_file", str(path / "space.yaml")), seed=int(d.get("seed", 0)),
                   settings=d.get("settings", {}), created=d.get("created", 0.0), source_space=d.get("source_space", ""))


def environment() -> dict[str, Any]:
    """Hardware and package versions, so every number in a report can be reproduced."""
    import importlib.metadata as md

    versions = {}
    for pkg in ("automl", "torch", "optuna", "ray", "numpy", "pandas", "plotly", "scikit-learn", "mnist1d"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    env: dict[str, Any] = {
        "python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "hostname": socket.gethostname(), "packages": versions,
    }
    with contextlib.suppress(AttributeError):
        env["cpu_affinity"] = len(os.sched_getaffinity(0))
    if "torch" in sys.modules:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        env["cuda"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            env["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return env
