"""Telegram message → intent: every slash command (good and bad arguments), the English and
Chinese sentences operators use, every message from the previous bot's audit log, and the
one thing a sentence may never do: approve a PR. Pure rules, no bot and no Temporal server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.states import RunState
from starter.telegram.intents import USAGE, Intent, help_text, parse_message

RUN = "run_90ab3ea76842"
SMOKE = "smoke_mem0_20260225_013047"
CALIB = "calib_mem0_20260225_r2"
TOKEN = "q3Zb-8_xYtGm0L1nWcR5vA2sEdKp9HjU"  # secrets.token_urlsafe(24) alphabet
AUDIT = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "telegram-audit.jsonl"
CJK = re.compile(r"[\u4e00-\u9fff]")


def ok(text: str) -> Intent:
    intent = parse_message(text)
    assert intent.error is None, (text, intent.error)
    return intent


def refused(text: str) -> Intent:
    intent = parse_message(text)
    assert intent.error, (text, intent)
    assert "\n" not in intent.error  # one friendly line
    return intent


# --- slash commands: good arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/list", {"action": "list", "limit": None}),
        ("/list 5", {"action": "list", "limit": 5}),
        ("/list 1", {"action": "list", "limit": 1}),
        ("/list 100", {"action": "list", "limit": 100}),
        ("/list@agentpr_bot 3", {"action": "list", "limit": 3}),
        ("/pending_pr", {"action": "pending_pr", "limit": None}),
        ("/pending_pr 10", {"action": "pending_pr", "limit": 10}),
        (f"/show {SMOKE}", {"action": "show", "run_id": SMOKE}),
        (f"/show@agentpr_bot {RUN}", {"action": "show", "run_id": RUN}),
        (f"/status {CALIB}", {"action": "status", "run_id": CALIB}),
        (
            "/status smoke-doctor-gate-20260224",
            {"action": "status", "run_id": "smoke-doctor-gate-20260224"},
        ),
        (
            f"/approve_pr {RUN} {TOKEN}",
            {"action": "approve_pr", "run_id": RUN, "confirm_token": TOKEN},
        ),
        (f"/pause {SMOKE}", {"action": "pause", "run_id": SMOKE}),
        (f"/Pause@AgentPRBot {RUN}", {"action": "pause", "run_id": RUN}),
        (
            f"/resume {RUN} IMPLEMENTING",
            {"action": "resume", "run_id": RUN, "target_state": RunState.IMPLEMENTING},
        ),
        (
            f"/resume {RUN} implementing",
            {"action": "resume", "run_id": RUN, "target_state": RunState.IMPLEMENTING},
        ),
        (
            f"/resume {RUN} to Plan_Ready",
            {"action": "resume", "run_id": RUN, "target_state": RunState.PLAN_READY},
        ),
        (
            f"/retry {CALIB} ITERATING",
            {"action": "retry", "run_id": CALIB, "target_state": RunState.ITERATING},
        ),
        (
            f"/retry {CALIB} at discovery",
            {"action": "retry", "run_id": CALIB, "target_state": RunState.DISCOVERY},
        ),
        ("/help", {"action": "help"}),
        ("/help@agentpr_bot", {"action": "help"}),
        ("/start", {"action": "help"}),
        ("  /list 2  ", {"action": "list", "limit": 2}),
    ],
)
def test_slash_commands(text: str, expected: dict[str, object]) -> None:
    intent = ok(text)
    for field, value in expected.items():
        assert getattr(intent, field) == value, (text, field, intent)
    assert intent.language == "en"
    command = text.split()[0].split("@")[0].lower()
    assert intent.rule == f"command {command}"


# --- slash commands: bad arguments ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "needle"),
    [
        ("/list 0", "list", "1 to 100"),
        ("/list 101", "list", "1 to 100"),
        ("/list -3", "list", "1 to 100"),
        ("/list five", "list", "1 to 100"),
        ("/list 1 2", "list", "Usage: /list [N]"),
        ("/pending_pr 0", "pending_pr", "1 to 100"),
        ("/pending_pr 1000", "pending_pr", "1 to 100"),
        ("/show", "show", "Which run?"),
        (f"/show {RUN} extra", "show", "Too many arguments"),
        ("/show bad!id", "show", "not a run id"),
        ("/show IMPLEMENTING", "show", "is a state, not a run id"),
        ("/status", "status", "Usage: /status <run_id>"),
        ("/approve_pr", "approve_pr", "Usage: /approve_pr <run_id> <confirm_token>"),
        (f"/approve_pr {RUN}", "approve_pr", "confirm token is missing"),
        (f"/approve_pr {RUN} {TOKEN} now", "approve_pr", "Too many arguments"),
        (f"/approve_pr {RUN} <confirm_token>", "approve_pr", "does not look like a confirm token"),
        ("/pause", "pause", "Which run?"),
        (f"/pause {RUN} {CALIB}", "pause", "Too many arguments"),
        ("/resume", "resume", "Which run?"),
        (f"/resume {RUN}", "resume", "Which state?"),
        (f"/resume {RUN} IMPLEMENT", "resume", "did you mean IMPLEMENTING"),
        (f"/resume IMPLEMENTING {RUN}", "resume", "the run id comes first"),
        (f"/resume {RUN} IMPLEMENTING now", "resume", "Too many arguments"),
        ("/retry", "retry", "Which run?"),
        (f"/retry {RUN}", "retry", "Usage: /retry <run_id> <target_state>"),
        (f"/retry {RUN} DONEE", "retry", "Unknown state 'DONEE'"),
        ("/frobnicate", "unknown", "Unknown command /frobnicate"),
        ("/list5", "unknown", "Unknown command /list5"),
    ],
)
def test_slash_command_errors(text: str, action: str, needle: str) -> None:
    intent = refused(text)
    assert intent.action == action
    assert needle in (intent.error or "")
    # Nothing half-parsed leaks out of a refused command.
    assert intent.target_state is None and intent.confirm_token is None and intent.limit is None


def test_unknown_state_lists_valid_names() -> None:
    error = refused(f"/resume {RUN} NOPE").error or ""
    assert "NOPE" in error
    assert sum(state.value in error for state in RunState) >= 3


def test_slash_errors_speak_the_message_language() -> None:
    intent = refused("/暂停 run_x")
    assert intent.action == "unknown" and intent.language == "zh"
    assert CJK.search(intent.error or "")
    intent = refused(f"/resume {RUN} 实施")
    assert intent.language == "zh" and "未知状态" in (intent.error or "")


# --- sentences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        ("list runs", {"action": "list", "limit": None}, "en: list runs"),
        ("show runs", {"action": "list"}, "en: list runs"),
        ("List 5 runs", {"action": "list", "limit": 5}, "en: list runs"),
        (f"status of {RUN}", {"action": "status", "run_id": RUN}, "en: status of <run>"),
        (
            f"what's the status of {RUN}?",
            {"action": "status", "run_id": RUN},
            "en: status of <run>",
        ),
        (
            f"What\u2019s the status of {SMOKE}",
            {"action": "status", "run_id": SMOKE},
            "en: status of <run>",
        ),
        (f"show {RUN}", {"action": "show", "run_id": RUN}, "en: show <run>"),
        (f"pause {RUN}", {"action": "pause", "run_id": RUN}, "en: pause <run>"),
        (f"please pause {CALIB}.", {"action": "pause", "run_id": CALIB}, "en: pause <run>"),
        (
            f"resume {RUN} to IMPLEMENTING",
            {"action": "resume", "run_id": RUN, "target_state": RunState.IMPLEMENTING},
            "en: resume <run> to <state>",
        ),
        (
            f"resume {RUN} IMPLEMENTING",
            {"action": "resume", "run_id": RUN, "target_state": RunState.IMPLEMENTING},
            "en: resume <run> to <state>",
        ),
        (
            f"resume {RUN} to plan_ready",
            {"action": "resume", "run_id": RUN, "target_state": RunState.PLAN_READY},
            "en: resume <run> to <state>",
        ),
        (
            f"retry {RUN} at ITERATING",
            {"action": "retry", "run_id": RUN, "target_state": RunState.ITERATING},
            "en: retry <run> at <state>",
        ),
        ("pending prs", {"action": "pending_pr"}, "en: pending prs"),
        ("PRs awaiting approval", {"action": "pending_pr"}, "en: pending prs"),
        ("what's going on", {"action": "list"}, "en: overall status"),
        ("status", {"action": "list"}, "en: overall status"),
        ("help", {"action": "help"}, "en: help"),
        (RUN, {"action": "status", "run_id": RUN}, "<run> alone"),
        ("列出运行", {"action": "list", "limit": None}, "zh: 列出运行"),
        ("列出 5 个运行", {"action": "list", "limit": 5}, "zh: 列出运行"),
        ("列出五个运行", {"action": "list", "limit": 5}, "zh: 列出运行"),
        (f"查看 {RUN} 状态", {"action": "status", "run_id": RUN}, "zh: <run> 状态"),
        (f"查看{RUN}状态", {"action": "status", "run_id": RUN}, "zh: <run> 状态"),
        (f"{RUN} 状态", {"action": "status", "run_id": RUN}, "zh: <run> 状态"),
        (f"查看 {SMOKE}", {"action": "show", "run_id": SMOKE}, "zh: 查看 <run>"),
        (f"暂停 {RUN}", {"action": "pause", "run_id": RUN}, "zh: 暂停 <run>"),
        (
            f"恢复 {RUN} 到 IMPLEMENTING",
            {"action": "resume", "run_id": RUN, "target_state": RunState.IMPLEMENTING},
            "zh: 恢复 <run> 到 <state>",
        ),
        (
            f"恢复暂停的 {RUN} 到 IMPLEMENTING",  # "暂停的" describes the run; the verb is 恢复
            {"action": "resume", "run_id": RUN, "target_state": RunState.IMPLEMENTING},
            "zh: 恢复 <run> 到 <state>",
        ),
        (
            f"重试 {RUN} 到 ITERATING",
            {"action": "retry", "run_id": RUN, "target_state": RunState.ITERATING},
            "zh: 重试 <run> 到 <state>",
        ),
        ("待审批的PR", {"action": "pending_pr"}, "zh: 待审批的PR"),
        ("待批准的PR", {"action": "pending_pr"}, "zh: 待审批的PR"),  # awaiting, not approving
        ("目前情况", {"action": "list"}, "zh: 整体状态"),
        ("什么情况了", {"action": "list"}, "zh: 整体状态"),
        ("状态", {"action": "list"}, "zh: 整体状态"),
        ("帮助", {"action": "help"}, "zh: 帮助"),
    ],
)
def test_sentences(text: str, expected: dict[str, object], rule: str) -> None:
    intent = ok(text)
    for field, value in expected.items():
        assert getattr(intent, field) == value, (text, field, intent)
    assert intent.rule == rule
    assert intent.language == ("zh" if CJK.search(text) else "en")


@pytest.mark.parametrize(
    ("text", "action", "needle"),
    [
        # Without a run id we ask; the previous bot acted on a default run.
        ("暂停", "pause", "请指明运行 ID"),
        ("恢复", "resume", "请指明运行 ID"),
        ("重试", "retry", "请指明运行 ID"),
        ("pause", "pause", "Which run?"),
        ("pause all runs", "pause", "never pick one"),
        ("show", "show", "Which run?"),
        (f"pause {RUN} and {CALIB}", "pause", "several"),
        (f"resume {RUN}", "resume", "Which state?"),
        (f"恢复 {RUN}", "resume", "请给出目标状态"),
        (f"resume {RUN} to implement", "resume", "did you mean IMPLEMENTING"),
        (f"retry {RUN} at plan_redy", "retry", "did you mean PLAN_READY"),
        (f"resume {RUN} to IMPLEMENTING or ITERATING", "resume", "several"),
        ("list 500 runs", "list", "1 to 100"),
        ("列出 0 个运行", "list", "1 到 100"),
        (f"pause and resume {RUN}", "unknown", "One action at a time"),
    ],
)
def test_sentence_errors(text: str, action: str, needle: str) -> None:
    intent = refused(text)
    assert intent.action == action
    assert needle in (intent.error or "")
    assert intent.run_id is None or action in ("show", "status")
    if CJK.search(text):
        assert CJK.search(intent.error or "")  # answered in Chinese


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("what is this bot", "en"),
        ("make coffee", "en"),
        ("推进一次", "zh"),
        ("你好", "zh"),
        (f"{RUN} please", "en"),
    ],
)
def test_unrecognised_sentences_get_help(text: str, language: str) -> None:
    intent = ok(text)
    assert intent.action == "unknown" and intent.language == language
    assert intent.rule == "no rule matched"


def test_empty_message() -> None:
    intent = ok("   ")
    assert intent.action == "unknown" and intent.rule == "empty message"


# --- approving is a command, never a sentence -----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"approve {RUN} {TOKEN}",
        f"please approve the PR for {RUN}",
        "approved",
        f"LGTM, ship {RUN}",
        f"ok /approve_pr {RUN} {TOKEN}",  # a command inside a sentence is still a sentence
        f"pause {RUN} and approve it",
        f"批准 {RUN} {TOKEN}",
        f"同意 {RUN} 的 PR",
        f"{RUN} 审批通过",
    ],
)
def test_approve_by_sentence_is_refused(text: str) -> None:
    intent = refused(text)
    assert intent.action == "unknown"
    assert "/approve_pr <run_id> <confirm_token>" in (intent.error or "")
    assert intent.run_id is None and intent.confirm_token is None
    assert "refused" in intent.rule
    if CJK.search(text):
        assert intent.language == "zh" and CJK.search(intent.error or "")


def test_no_sentence_ever_approves() -> None:
    sentences = [
        "approve everything",
        f"approve_pr {RUN} {TOKEN}",
        f"{RUN} {TOKEN}",
        "批准所有PR",
        f"open the pr for {RUN}",
        f"开 PR {RUN} {TOKEN}",
        "merge it",
    ]
    for text in sentences:
        intent = parse_message(text)
        assert intent.action != "approve_pr" and intent.confirm_token is None, (text, intent)


# --- the previous bot's audit log -----------------------------------------------------------

# request_text → (action, run_id, needs a reply question instead of an action)
FIXTURE_EXPECTED: dict[str, tuple[str, str | None, bool]] = {
    # "current situation": the overall picture, i.e. the list of runs.
    "目前情况": ("list", None, False),
    # Plain commands pass through unchanged.
    "/list": ("list", None, False),
    "/show smoke_mem0_20260225_013047": ("show", "smoke_mem0_20260225_013047", False),
    "/show smoke_mem0_20260225_021213": ("show", "smoke_mem0_20260225_021213", False),
    # A bare "status" names no run: the overall list, not a guessed run's detail.
    "状态": ("list", None, False),
    # "Advance once" (a manager tick) is not a bot action here: help is the honest reply.
    "推进一次": ("unknown", None, False),
    # The previous bot paused/resumed/retried a default run; we ask which run instead.
    "暂停": ("pause", None, True),
    "恢复": ("resume", None, True),
    "重试": ("retry", None, True),
    # "What's going on now?": the overall list.
    "什么情况了": ("list", None, False),
}


def test_every_fixture_message() -> None:
    if not AUDIT.exists():
        pytest.skip(f"{AUDIT} is absent (shared fixtures are not next to the checkout)")
    texts = [
        json.loads(line)["request_text"]
        for line in AUDIT.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert texts
    unjudged = sorted(set(texts) - set(FIXTURE_EXPECTED))
    assert not unjudged, f"new fixture messages need an expected intent: {unjudged}"
    for text in texts:
        action, run_id, asks = FIXTURE_EXPECTED[text]
        intent = parse_message(text)
        assert (intent.action, intent.run_id) == (action, run_id), (text, intent)
        assert bool(intent.error) == asks, (text, intent)
        assert intent.language == ("zh" if CJK.search(text) else "en")
        if asks:
            assert "请指明运行 ID" in (intent.error or "")


# --- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_help_lists_every_command_and_state(language: str) -> None:
    text = help_text(language)
    assert text.strip()
    for command in USAGE:
        assert f"/{command}" in text, command
    for usage in USAGE.values():
        assert usage in text, usage
    for state in RunState:
        assert state.value in text
    assert bool(CJK.search(text.split("\n", 1)[0])) == (language == "zh")


def test_help_examples_parse_as_advertised() -> None:
    # Every example sentence in the help text parses to a real action.
    for language in ("en", "zh"):
        for line in help_text(language).splitlines():
            if not line.startswith("  "):
                continue
            for example in line.strip().split(" · "):
                intent = parse_message(example)
                assert intent.action not in ("unknown", "help"), (example, intent)
                assert intent.error is None or intent.action in ("resume", "retry"), example


def test_help_text_accepts_telegram_locales() -> None:
    assert help_text("zh-hans") == help_text("zh")
    assert help_text("en-GB") == help_text("en") == help_text("fr")


def test_help_intent_language_matches_message() -> None:
    assert parse_message("帮助").language == "zh"
    assert parse_message("/help").language == "en"


# --- the model --------------------------------------------------------------------------------


def test_an_executable_intent_is_complete() -> None:
    with pytest.raises(ValidationError):
        Intent(action="pause", language="en", rule="x")
    with pytest.raises(ValidationError):
        Intent(action="resume", run_id=RUN, language="en", rule="x")
    with pytest.raises(ValidationError):
        Intent(action="approve_pr", run_id=RUN, language="en", rule="x")
    with pytest.raises(ValidationError):
        Intent(action="list", limit=0, language="en", rule="x")
    # With an error it is a question back, not an action.
    Intent(action="pause", language="en", rule="x", error="which run?")


def test_confirm_token_stays_out_of_repr() -> None:
    intent = ok(f"/approve_pr {RUN} {TOKEN}")
    assert intent.confirm_token == TOKEN
    assert TOKEN not in repr(intent) and TOKEN not in str(intent)


def test_parsing_is_deterministic() -> None:
    for text in ("目前情况", f"resume {RUN} to IMPLEMENTING", "/list 5"):
        assert parse_message(text) == parse_message(text)


def test_approve_plan_is_a_command_with_a_run_id() -> None:
    intent = parse_message("/approve_plan run_90ab3ea76842")
    assert (intent.action, intent.run_id, intent.error) == (
        "approve_plan",
        "run_90ab3ea76842",
        None,
    )
    missing = parse_message("/approve_plan")
    assert missing.error and "/approve_plan <run_id>" in missing.error
    assert "/approve_plan <run_id>" in help_text("en") and "/approve_plan <run_id>" in help_text(
        "zh"
    )


@pytest.mark.parametrize(
    ("text", "repos", "skills", "error"),
    [
        ("/create demo/calc", ["demo/calc"], None, None),
        ("/create a/b c/d A/B --skills forge@v1", ["a/b", "c/d"], "forge@v1", None),
        ("/create", None, None, "Which repositories?"),
        ("/create nope", None, None, "'nope' is not owner/repo."),
        ("/create a/b --skills", None, None, "--skills needs NAME@VERSION"),
        ("/create a/b --skills forge", None, None, "--skills needs NAME@VERSION"),
        ("/create " + " ".join(f"o/r{n}" for n in range(21)), None, None, "At most 20"),
    ],
)  # fmt: skip
def test_create_names_its_repositories(
    text: str, repos: list[str] | None, skills: str | None, error: str | None
) -> None:
    intent = parse_message(text)
    assert intent.action == "create"
    if error:
        assert intent.error is not None and error in intent.error
    else:
        assert (intent.repos, intent.skills, intent.error) == (repos, skills, None)


@pytest.mark.parametrize(
    ("action", "tier"),
    [("list", "read"), ("overview", "read"), ("show", "read"), ("pause", "write"),
     ("create", "write"), ("approve_plan", "write"), ("approve_pr", "admin")],
)  # fmt: skip
def test_who_may_do_what(action: str, tier: str) -> None:
    from starter.telegram.intents import tier_needed

    assert tier_needed(action) == tier  # type: ignore[arg-type]
