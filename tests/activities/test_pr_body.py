"""The PR body a person approves: the operator's text in the repository's template, the
checklist ticked from evidence only, the AI note; composing twice changes nothing."""

from __future__ import annotations

from pathlib import Path

from activities.pr_body import AI_NOTE_MARK, compose_pr_body, composed_body
from common.settings import Settings
from contracts import PrDisclosure, RunProgress
from contracts.states import RunState
from skills.catalog import load_pack
from workflows.rules.campaign_pacing import pr_slot_holders

TEMPLATE = """<!-- Thanks for contributing! -->
## Description

## Checklist
- [ ] I added tests
- [ ] I updated the docs
- [ ] I signed off my commits (DCO)
- [ ] I ran the linter
- [ ] This PR was generated or assisted by AI
"""


def disclosure(**fields: object) -> PrDisclosure:
    values: dict[str, object] = {"workspace": "/w", "base_branch": "main",
                                 "assisted_by": "codex (gpt-5-codex)", "tests_passed": True}  # fmt: skip
    values.update(fields)
    return PrDisclosure(**values)  # type: ignore[arg-type]


def test_the_template_is_filled_from_evidence_only() -> None:
    body = compose_pr_body("Adds Forge.", disclosure(), TEMPLATE, ["src/forge.py"])
    assert body.startswith("## Description\n\nAdds Forge.\n\n## Checklist")
    assert "- [x] I added tests" in body
    assert "- [ ] I updated the docs" in body  # no docs changed
    assert "- [ ] I signed off my commits (DCO)" in body
    assert "- [ ] I ran the linter" in body  # no evidence agentpr can vouch for
    assert "- [x] This PR was generated or assisted by AI" in body
    assert "Thanks for contributing" not in body
    assert body.rstrip().endswith(
        f"> 🤖 {AI_NOTE_MARK} this change was prepared with codex (gpt-5-codex) through agentpr. "
        "A person reviewed it and approved opening this pull request."
    )
    assert compose_pr_body(body, disclosure(), TEMPLATE, ["src/forge.py"]) == body


def test_docs_and_sign_off_tick_their_items() -> None:
    body = compose_pr_body("x", disclosure(signed_off=True), TEMPLATE, ["docs/providers.md"])
    assert "- [x] I updated the docs" in body and "- [x] I signed off my commits (DCO)" in body


def test_no_ai_no_note_and_the_note_can_be_off() -> None:
    codemod = compose_pr_body("Adds Forge.", disclosure(assisted_by=None), None, [])
    assert AI_NOTE_MARK not in codemod and codemod == "Adds Forge.\n"
    off = compose_pr_body("Adds Forge.", disclosure(ai_note=False), None, [])
    assert AI_NOTE_MARK not in off


def test_a_body_that_follows_the_template_is_kept() -> None:
    body = "## Description\nAdds Forge.\n\n## Checklist\n- [ ] I added tests\n"
    composed = compose_pr_body(body, disclosure(ai_note=False), TEMPLATE, [])
    assert composed == "## Description\nAdds Forge.\n\n## Checklist\n- [x] I added tests\n"


def test_pr_slots_per_owner() -> None:
    def run(
        repo: str, state: RunState, requested: bool = False, pr: int | None = None
    ) -> RunProgress:
        return RunProgress(
            run_id=repo, repo=repo, state=state, pr_requested=requested, pr_number=pr
        )

    runs = [
        run("acme/a", RunState.CI_WAIT, pr=3),
        run("acme/b", RunState.PUSHED, requested=True),
        run("acme/c", RunState.DONE, pr=4),  # merged: the slot is free again
        run("Acme/d", RunState.IMPLEMENTING),  # no PR yet
        run("other/e", RunState.REVIEW_WAIT, pr=5),
    ]
    assert pr_slot_holders(runs, "ACME/z") == 2
    assert pr_slot_holders(runs, "other/z") == 1
    assert pr_slot_holders(runs, "new/z") == 0


def test_the_forge_pack_s_body_and_its_about_forge_option(tmp_path: Path) -> None:
    """An empty body takes the pack's template; the operator can turn "About Forge" off."""
    settings = Settings(home=tmp_path / "home")
    pack = load_pack("forge@v1", None).ref
    base = disclosure(pack=pack, changes="Adds Forge as a provider.", test_command="pytest -q",
                      workspace=str(tmp_path), ai_note=False)  # fmt: skip
    body = composed_body("", base, settings)
    assert body.startswith("## What this changes\n\nAdds Forge as a provider.")
    assert "`pytest -q` passed." in body and "## About Forge" in body
    off = composed_body(
        "", base.model_copy(update={"pack_options": {"about_forge": False}}), settings
    )
    assert "About Forge" not in off and "Adds Forge as a provider." in off
    assert composed_body("My own words.", base, settings) == "My own words.\n"
