"""The baseline: a bare Temporal workflow with a trivial update handler and nothing else."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class BareWorkflow:
    def __init__(self) -> None:
        self.value = ""
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return self.value

    @workflow.update
    def set_value(self, value: str) -> str:
        self.value = value
        return value
