"""Environment checks. `doctor` is global (this machine, Temporal, the data directory); the
per-run preflight joins it in a later issue."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from enum import StrEnum

from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from common.connection import TemporalUnreachable, connect
from common.settings import Settings
from workflows import search_attributes as sa


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class DoctorCheck(BaseModel):
    name: str
    status: CheckStatus
    detail: str


class DoctorReport(BaseModel):
    ok: bool
    checks: list[DoctorCheck]


async def _git_check() -> DoctorCheck:
    git = shutil.which("git")
    if git is None:
        return DoctorCheck(name="git", status=CheckStatus.FAIL, detail="git is not on PATH")
    proc = await asyncio.create_subprocess_exec(
        git, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        return DoctorCheck(name="git", status=CheckStatus.FAIL, detail="`git --version` failed")
    return DoctorCheck(name="git", status=CheckStatus.OK, detail=out.decode().strip())


def _data_dir_check(settings: Settings) -> DoctorCheck:
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".doctor-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as err:
        return DoctorCheck(
            name="data dir", status=CheckStatus.FAIL,
            detail=f"{home} is not writable: {err.strerror}",
        )
    free_mb = shutil.disk_usage(home).free // (1024 * 1024)
    return DoctorCheck(
        name="data dir", status=CheckStatus.OK, detail=f"{home} writable, {free_mb} MiB free"
    )


async def _temporal_checks(settings: Settings) -> list[DoctorCheck]:
    try:
        client = await connect(settings)
    except TemporalUnreachable as err:
        return [DoctorCheck(name="temporal", status=CheckStatus.FAIL, detail=err.message)]
    checks = [
        DoctorCheck(
            name="temporal", status=CheckStatus.OK,
            detail=f"reachable at {settings.temporal_address}, namespace "
            f"{settings.temporal_namespace!r}",
        )
    ]
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=settings.temporal_namespace)
    )
    missing = [key.name for key in sa.ALL_KEYS if key.name not in listed.custom_attributes]
    checks.append(
        DoctorCheck(
            name="search attributes",
            status=CheckStatus.FAIL if missing else CheckStatus.OK,
            detail=("missing " + ", ".join(missing) + " — run `agentpr init-db`")
            if missing else "all registered",
        )
    )
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    pollers = len(described.pollers)
    checks.append(
        DoctorCheck(
            name="worker",
            status=CheckStatus.OK if pollers else CheckStatus.WARN,
            detail=f"{pollers} poller(s) on task queue {settings.task_queue!r}" if pollers
            else f"no worker polls task queue {settings.task_queue!r} — start `agentpr worker`",
        )
    )
    return checks


async def run_doctor(settings: Settings) -> DoctorReport:
    checks = [await _git_check(), _data_dir_check(settings), *await _temporal_checks(settings)]
    return DoctorReport(
        ok=all(check.status != CheckStatus.FAIL for check in checks), checks=checks
    )
