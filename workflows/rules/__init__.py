"""Where a run goes, decided by pure functions over the run record.

No Temporal, no I/O, no clock (the caller passes `now`): the workflow's handlers call these and
then act (apply a transition, start an activity); tests/workflows/rules/ checks them table by
table without a server. One module per question:

- transitions: may a command apply, and the one way a transition changes the record
- github_facts: where a check, a review or a merge moves the run
- grades: where an agent step's grade moves the run
- pr_gate: why a PR request or approval is refused; the default head
- iteration: whether a run can iterate, the iteration prompt, the retry cap
- quoted_feedback: GitHub's text cleaned, capped and fenced before it reaches a prompt
- auto_driver: the next step an auto-mode run takes by itself
- campaign_control: what a campaign's pause, resume, cancel or retry does to one run
- notifications: what an operator is told about a change
- definition_of_done: what a run must meet before its PR is requested and approved
"""
