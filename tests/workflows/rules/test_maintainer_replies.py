"""The conservative rules over maintainers' replies: obvious declines, questions asking for no
change; everything else is left to the model (or, without one, to requested changes)."""

from __future__ import annotations

import pytest

from workflows.rules.maintainer_replies import classify_by_rules


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, but we don't want this in the project.",
        "We're not interested in adding more providers.",
        "Sorry, we won't accept AI-generated PRs.",
        "Closing this, see the discussion in #12.",
        "This is not something we want to maintain.",
        "We will not merge this.",
        "谢谢，但我们不接受这类改动。",
    ],
)
def test_declines(text: str) -> None:
    assert classify_by_rules(text) == ("decline", "rules: decline phrase")


@pytest.mark.parametrize(
    "text",
    ["Does this work with the async client?", "Why is a new module needed？", "这个支持流式吗？"],
)
def test_questions_asking_for_no_change(text: str) -> None:
    assert classify_by_rules(text) == ("question", "rules: a question asking for no change")


@pytest.mark.parametrize(
    "text",
    [
        "Could you rename the module to forge_provider?",  # a change request phrased as a question
        "Please add a test.",
        "Hmm, this belongs in a plugin rather than core.",
        "LGTM once CI is green",
        "<!-- we don't want this -->Please add a test.",  # hidden text is not what was said
    ],
)
def test_undecided_or_fix_is_left_to_the_model(text: str) -> None:
    assert classify_by_rules(text) is None
