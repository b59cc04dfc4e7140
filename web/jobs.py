"""Audits started from the web app. A detached process (``python -m moderation_web.jobs JOB``) runs
`moderation audit` and records in the database how it ended, so a job outlives the request, the worker
that started it and a restart of the server; its log is the progress the job page shows."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from moderation.artifacts import read_manifest
from moderation.errors import InputError
from moderation.plugins import get_registry
from moderation.policy import recommended
from moderation_web.settings import Settings
from moderation_web.store import FAILED, FINISHED, Job, Store, utcnow

GATE_FAILED = 3  # `moderation audit`'s exit status when the report is written and a gate fails
COMMAND_FILE = "command.json"


def jobs_dir(settings: Settings) -> Path:
    """Logs and commands of jobs, inside the reports folder but hidden from its listing (a dot folder)."""
    return settings.resolved_reports_dir() / ".jobs"


def audit_command(settings: Settings, model: Path, reference: Path, data: str, out: Path) -> list[str]:
    """The candidate against the serving model, at the candidate's own review threshold."""
    threshold = recommended(read_manifest(model).policy).review
    gates = [a for gate in settings.promotion_gates for a in ("--fail-under", gate)]
    return [sys.executable, "-m", "moderation", "audit", "--model", str(model), "--compare", str(reference),
            "--data", data, "--limit", str(settings.audit_limit), "--threshold", str(threshold), "--out", str(out),
            *gates]


def checked_data(names: str) -> str:
    """Installed data set names only: a moderator cannot point an audit at a file on the server."""
    installed = get_registry().names("dataset")
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(installed))
    if not wanted or unknown:
        raise InputError(f"audit data must be installed data sets ({', '.join(installed)}); "
                         f"not {', '.join(unknown) or 'nothing'}")
    return ",".join(wanted)


def start_audit(store: Store, settings: Settings, model: Path, model_id: str, reference: Path, reference_id: str,
                data: str, started_by: str) -> Job:
    """Record the job, then start the process that runs it; returns at once."""
    folder = jobs_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    report = f"audit-{model.name}-{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    job = store.add_job(str(model), model_id, str(reference), reference_id, report, str(folder / f"{report}.log"),
                        started_by)
    command = audit_command(settings, model, reference, data, settings.resolved_reports_dir() / job.report)
    (folder / f"{job.report}.{COMMAND_FILE}").write_text(json.dumps(command))
    env = {**os.environ, "MODERATION_DATABASE_URL": store.url}  # not on the command line: it may hold a password
    subprocess.Popen([sys.executable, "-m", "moderation_web.jobs", str(job.id)], env=env, start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return job


def progress(job: Job, max_bytes: int = 4096) -> str:
    """The last line the audit wrote (a progress bar redraws its line with carriage returns)."""
    path = Path(job.log_path)
    if not path.is_file():
        return ""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - max_bytes))
        tail = fh.read().decode("utf-8", errors="replace")
    lines = [line.strip() for line in tail.replace("\r", "\n").split("\n") if line.strip()]
    return lines[-1] if lines else ""


def run(job_id: int, store: Store) -> None:
    job = store.job(job_id)
    log = Path(job.log_path)
    command = json.loads(log.with_name(f"{job.report}.{COMMAND_FILE}").read_text())
    try:
        with log.open("wb") as out:
            status = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT).returncode
    except OSError as exc:
        store.finish_job(job_id, FAILED, None, f"could not start the audit: {exc}")
        return
    if status in (0, GATE_FAILED):
        store.finish_job(job_id, FINISHED, status == 0, None)
    else:
        store.finish_job(job_id, FAILED, None, progress(job) or f"the audit exited with status {status}")


def main() -> None:
    run(int(sys.argv[1]), Store(os.environ["MODERATION_DATABASE_URL"]))


if __name__ == "__main__":
    main()
