"""Operator messages → intents, by fixed rules (no model in the loop).

Slash commands are parsed strictly; plain English or Chinese sentences may only read
(list, show, status, pending PRs) or pause/resume/retry a run they name. A sentence never
approves a PR and never picks a run for the operator: what the rules cannot settle comes back
with `error` set (one line, in the message's language), and the bot acts on no such intent.

Pure Python and our models only: no aiogram here, so the rules are tested without a bot.
Texts are plain (no Telegram markup); escape them if a reply is sent with a parse mode.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from common.policy import is_repo_full_name
from contracts import RunId
from contracts.states import RunState

Action = Literal[
    "list",
    "show",
    "status",
    "pending_pr",
    "approve_pr",
    "approve_plan",
    "pause",
    "resume",
    "retry",
    "overview",
    "create",
    "help",
    "unknown",
]
# Who may do what (the previous tool's access tiers): a read chat reads; a write chat also
# steers runs and creates them; an admin chat also approves PRs.
Tier = Literal["read", "write", "admin"]
TIER_RANK: dict[str, int] = {"read": 0, "write": 1, "admin": 2}
_WRITES = {"pause", "resume", "retry", "approve_plan", "create"}


def tier_needed(action: Action) -> Tier:
    if action == "approve_pr":
        return "admin"
    return "write" if action in _WRITES else "read"


# At most this many repositories in one /create (a campaign is the tool for more).
MAX_CREATE = 20
Language = Literal["en", "zh"]

LIMIT_MIN, LIMIT_MAX = 1, 100
EXAMPLE_RUN = "run_90ab3ea76842"

# Fields an executable intent (one without `error`) must carry, per action.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "show": ("run_id",),
    "status": ("run_id",),
    "pause": ("run_id",),
    "approve_plan": ("run_id",),
    "resume": ("run_id", "target_state"),
    "retry": ("run_id", "target_state"),
    "approve_pr": ("run_id", "confirm_token"),
    "create": ("repos",),
}


class Intent(BaseModel):
    """What one message asks for. With `error` set it is a question back to the operator,
    never something to execute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    run_id: RunId | None = None
    target_state: RunState | None = None
    limit: int | None = Field(default=None, ge=LIMIT_MIN, le=LIMIT_MAX)
    # One-time secret: kept out of repr so a logged intent does not leak it.
    confirm_token: str | None = Field(default=None, repr=False)
    # /create: owner/repo names (checked), and the skill pack the runs follow.
    repos: list[str] | None = Field(default=None, max_length=MAX_CREATE)
    skills: str | None = Field(default=None, max_length=120)
    language: Language
    rule: str
    error: str | None = None

    @model_validator(mode="after")
    def _complete_unless_error(self) -> Intent:
        if self.error is None:
            missing = [f for f in _REQUIRED.get(self.action, ()) if getattr(self, f) is None]
            if missing:
                raise ValueError(f"{self.action} intent without {', '.join(missing)}")
        return self


# --- language ------------------------------------------------------------------------------

# CJK ideographs plus CJK/full-width punctuation (a Chinese IME types "？" and "，").
_CJK_RE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def detect_language(text: str) -> Language:
    return "zh" if _CJK_RE.search(text) else "en"


def _say(language: Language, en: str, zh: str) -> str:
    return zh if language == "zh" else en


# --- shared checks -------------------------------------------------------------------------

_RUN_ID_ADAPTER: TypeAdapter[str] = TypeAdapter(RunId)
_STATES: dict[str, RunState] = {s.value: s for s in RunState}
# The states an operator most often resumes or retries at, for "unknown state" replies.
_COMMON_TARGETS = (
    RunState.DISCOVERY,
    RunState.PLAN_READY,
    RunState.IMPLEMENTING,
    RunState.LOCAL_VALIDATING,
    RunState.ITERATING,
)
_TOKEN_ALPHABET_RE = re.compile(r"^[A-Za-z0-9_-]+$")  # secrets.token_urlsafe


def _state(word: str) -> RunState | None:
    return _STATES.get(word.upper())


def _is_run_id(word: str) -> bool:
    try:
        _RUN_ID_ADAPTER.validate_python(word)
    except ValidationError:
        return False
    return True


def _unknown_state(word: str, language: Language) -> str:
    close = difflib.get_close_matches(word.upper(), list(_STATES), n=1, cutoff=0.6)
    few = ", ".join(_COMMON_TARGETS)
    if language == "zh":
        hint = f"（是否想输入 {close[0]}？）" if close else ""
        return f"未知状态 {word!r}{hint}。可用状态如 {few} 等，/help 列出全部。"
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"Unknown state {word!r}{hint}. Valid states include {few}; /help lists them all."


def _bad_limit(word: str, language: Language) -> str:
    return _say(
        language,
        f"N must be a whole number from {LIMIT_MIN} to {LIMIT_MAX}; got {word!r}.",
        f"数量需为 {LIMIT_MIN} 到 {LIMIT_MAX} 之间的整数，收到 {word!r}。",
    )


def _limit(word: str) -> int | None:
    if word.isascii() and word.isdigit() and LIMIT_MIN <= int(word) <= LIMIT_MAX:
        return int(word)
    return None


# --- slash commands ------------------------------------------------------------------------

USAGE: dict[str, str] = {
    "list": "/list [N]",
    "show": "/show <run_id>",
    "status": "/status <run_id>",
    "pending_pr": "/pending_pr [N]",
    "approve_pr": "/approve_pr <run_id> <confirm_token>",
    "approve_plan": "/approve_plan <run_id>",
    "pause": "/pause <run_id>",
    "resume": "/resume <run_id> <target_state>",
    "retry": "/retry <run_id> <target_state>",
    "overview": "/overview",
    "create": "/create <owner/repo> [more…] [--skills NAME@VERSION]",
    "help": "/help",
    "start": "/start",
}

# /cmd, /cmd@BotName, then arguments. aiogram checks that @BotName is this bot.
_COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]+)(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)
_STATE_CONNECTORS = {"to", "at", "from", "into"}


class _CommandError(Exception):
    pass


def _parse_command(text: str, language: Language) -> Intent:
    match = _COMMAND_RE.match(text)
    if match is None:
        word = text.split(maxsplit=1)[0]
        return Intent(
            action="unknown",
            language=language,
            rule="command (unknown)",
            error=_say(
                language,
                f"Unknown command {word}; /help lists the commands.",
                f"未知命令 {word}；发送 /help 查看命令列表。",
            ),
        )
    name = match.group(1).lower()
    args = (match.group(2) or "").split()
    rule = f"command /{name}"
    if name not in USAGE:
        return Intent(
            action="unknown",
            language=language,
            rule="command (unknown)",
            error=_say(
                language,
                f"Unknown command /{name}; /help lists the commands.",
                f"未知命令 /{name}；发送 /help 查看命令列表。",
            ),
        )
    if name in ("help", "start"):
        return Intent(action="help", language=language, rule=rule)
    action = cast(Action, name)  # every other USAGE key is an Action
    try:
        return _command_intent(action, args, language, rule)
    except _CommandError as err:
        return Intent(action=action, language=language, rule=rule, error=str(err))


def _command_intent(action: Action, args: list[str], language: Language, rule: str) -> Intent:
    usage = USAGE[action]

    def fail(en: str, zh: str) -> _CommandError:
        return _CommandError(_say(language, f"{en} Usage: {usage}", f"{zh}用法：{usage}"))

    def run_id(word: str) -> str:
        if _state(word) is not None:
            raise fail(
                f"{word} is a state, not a run id; the run id comes first.",
                f"{word} 是状态而不是运行 ID；运行 ID 在前。",
            )
        if not _is_run_id(word):
            raise fail(
                f"{word!r} is not a run id (e.g. {EXAMPLE_RUN}).",
                f"{word!r} 不是运行 ID（例如 {EXAMPLE_RUN}）。",
            )
        return word

    if action == "overview":
        if args:
            raise fail("/overview takes no arguments.", "/overview 不需要参数。")
        return Intent(action=action, language=language, rule=rule)

    if action == "create":
        return _create_intent(args, language, rule, fail)

    if action in ("list", "pending_pr"):
        if len(args) > 1:
            raise fail("Too many arguments.", "参数过多。")
        if not args:
            return Intent(action=action, language=language, rule=rule)
        limit = _limit(args[0])
        if limit is None:
            raise _CommandError(_bad_limit(args[0], language))
        return Intent(action=action, limit=limit, language=language, rule=rule)

    if not args:
        raise fail("Which run?", "请给出运行 ID。")

    if action in ("show", "status", "pause", "approve_plan"):
        if len(args) > 1:
            raise fail("Too many arguments.", "参数过多。")
        return Intent(action=action, run_id=run_id(args[0]), language=language, rule=rule)

    if action == "approve_pr":
        if len(args) == 1:
            raise fail("The confirm token is missing.", "缺少确认令牌（confirm_token）。")
        if len(args) > 2:
            raise fail("Too many arguments.", "参数过多。")
        rid, token = run_id(args[0]), args[1]
        if not _TOKEN_ALPHABET_RE.match(token):
            raise fail("That does not look like a confirm token.", "确认令牌格式不对。")
        return Intent(action=action, run_id=rid, confirm_token=token, language=language, rule=rule)

    # resume / retry: <run_id> [to|at] <state>
    rid = run_id(args[0])
    rest = args[1:]
    if len(rest) == 2 and rest[0].lower() in _STATE_CONNECTORS:
        rest = rest[1:]
    if not rest:
        raise fail("Which state?", "请给出目标状态。")
    if len(rest) > 1:
        raise fail("Too many arguments.", "参数过多。")
    target = _state(rest[0])
    if target is None:
        raise _CommandError(_unknown_state(rest[0], language))
    return Intent(action=action, run_id=rid, target_state=target, language=language, rule=rule)


_PACK_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}@[A-Za-z0-9._-]{1,50}$")


def _create_intent(args: list[str], language: Language, rule: str, fail: object) -> Intent:
    """`/create owner/repo [more…] [--skills pack@version]`: each name checked, none twice."""
    failing = cast("Callable[[str, str], _CommandError]", fail)
    repos: list[str] = []
    skills: str | None = None
    words = iter(args)
    for word in words:
        if word in ("--skills", "--skill"):
            skills = next(words, None)
            if skills is None or not _PACK_RE.match(skills):
                raise failing(
                    f"--skills needs NAME@VERSION (e.g. forge@v1), got {skills!r}.",
                    f"--skills 需要 NAME@VERSION（例如 forge@v1），收到 {skills!r}。",
                )
            continue
        if not is_repo_full_name(word):
            raise failing(f"{word!r} is not owner/repo.", f"{word!r} 不是 owner/repo。")
        if word.casefold() not in {r.casefold() for r in repos}:
            repos.append(word)
    if not repos:
        raise failing("Which repositories?", "请给出仓库（owner/repo）。")
    if len(repos) > MAX_CREATE:
        raise failing(
            f"At most {MAX_CREATE} repositories at once; use a campaign for more.",
            f"一次最多 {MAX_CREATE} 个仓库；更多请用 campaign。",
        )
    return Intent(action="create", repos=repos, skills=skills, language=language, rule=rule)


# --- sentences -----------------------------------------------------------------------------
# Each rule has an English and a Chinese pattern, matched against the case-folded text; the
# rule name says which one matched. Order matters and is the order of `_parse_sentence`.

# Approving is refused before anything else. "approval" (a noun, as in "pending approvals")
# is not a request to approve; "待批准/待审批" (awaiting approval) is removed before the ZH check.
_APPROVE_EN = re.compile(r"\bapprov(?:e|es|ed|ing)\b|approve_pr|\blgtm\b")
_APPROVE_ZH = re.compile(r"批准|审批通过|通过审批|同意")
_AWAITING_ZH = re.compile(r"(?:待|等待)(?:审批|批准|审核|确认)")

_HELP_EN = re.compile(
    r"^\W*(?:help(?: me)?|commands|usage|what can you do|how do i use (?:this|you)|\?+)\W*$"
)
_HELP_ZH = re.compile(r"帮助|怎么用|如何使用|使用说明|有哪些命令|命令列表|能做什么")

_PAUSE_EN = re.compile(r"\bpause\b")
_PAUSE_ZH = re.compile(r"(?<![已被])暂停(?!的)")  # "恢复暂停的运行" resumes; "已暂停" describes
_RESUME_EN = re.compile(r"\bresume\b|\bunpause\b")
_RESUME_ZH = re.compile(r"恢复|继续")
_RETRY_EN = re.compile(r"\bre-?try\b|\btry (?:it )?again\b")
_RETRY_ZH = re.compile(r"重试|再试|重新(?:尝试|运行|执行|跑)")

_CONTROL_VERBS: tuple[tuple[Action, re.Pattern[str], re.Pattern[str]], ...] = (
    ("pause", _PAUSE_EN, _PAUSE_ZH),
    ("resume", _RESUME_EN, _RESUME_ZH),
    ("retry", _RETRY_EN, _RETRY_ZH),
)

_PENDING_EN = re.compile(
    r"\bpending\b|\b(?:awaiting|waiting)\b.*\b(?:prs?|pull requests?|approvals?)\b"
)
_PENDING_ZH = re.compile(r"(?:待|等待)(?:审批|批准|审核|确认)|(?:需要|未|没有?)审批")

_STATUS_EN = re.compile(r"\b(?:status|state|progress|how's|how is|doing)\b")
_STATUS_ZH = re.compile(r"状态|进度|进展|怎么样|如何|情况")
_SHOW_EN = re.compile(r"\b(?:show|details?|info|describe|display|view|inspect|get|check)\b")
_SHOW_ZH = re.compile(r"查看|显示|详情|详细|看看|看一下|信息")

_LIST_EN = re.compile(r"\b(?:list|runs)\b")
_LIST_ZH = re.compile(r"列出|列表|(?:所有|全部|最近|哪些|查看|显示|看看)的?运行|^运行$")
_OVERALL_EN = re.compile(
    r"\b(?:status|overview|summary|dashboard|going on|happening)\b|\bwhat's up\b"
)
_OVERALL_ZH = re.compile(r"状态|情况|进展|进度|概况|总览|怎么样")

_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# The word that names the state: "resume X to IMPLEMENTING", "恢复 X 到 IMPLEMENTING".
_SLOT_RE = re.compile(
    r"(?:\b(?:to|at|from|into)\s+|(?:到|至|为|从)\s*)([A-Za-z0-9][A-Za-z0-9._-]*)",
    re.IGNORECASE,
)
# Looks like someone typed a state name (all caps), so "unknown state" beats "which state?".
_STATE_LIKE_RE = re.compile(r"^[A-Z]{3,}(?:_[A-Z]+)*$")
_NOT_STATES = {"PRS", "API", "RUN", "RUNS"}
_ZH_COUNT_RE = re.compile(r"([一二两三四五六七八九十])\s*(?:个|条)")
_ZH_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)} | {"两": 2}


def _which(low: str, en: re.Pattern[str], zh: re.Pattern[str]) -> Language | None:
    if en.search(low):
        return "en"
    if zh.search(low):
        return "zh"
    return None


class _Words:
    """The ASCII words of a sentence, sorted into run ids, states and numbers."""

    def __init__(self, text: str) -> None:
        # A trailing "." ends the sentence, not the run id ("pause run_x.").
        stripped = (m.group(0).rstrip(".") for m in _WORD_RE.finditer(text))
        self.words: list[str] = [w for w in stripped if w]
        self.slots: set[str] = {m.group(1).rstrip(".") for m in _SLOT_RE.finditer(text)}
        states: list[RunState] = []
        for word in self.words:
            state = _state(word)
            if state is not None and state not in states:
                states.append(state)
        self.states = states
        self.numbers = [w for w in self.words if w.isdigit()]
        self.numbers += [str(_ZH_DIGITS[c]) for c in _ZH_COUNT_RE.findall(text)]

    def run_ids(self, *, skip_slots: bool = False) -> list[str]:
        """Words that look like run ids: `_` or digits, not a state, not a number. With
        `skip_slots`, a word in the state's place ("to plan_redy") is not a second run."""
        found: list[str] = []
        for word in self.words:
            if (
                _state(word) is None
                and not word.isdigit()
                and ("_" in word or any(c.isdigit() for c in word))
                and not _STATE_LIKE_RE.match(word)
                and _is_run_id(word)
                and word not in found
            ):
                found.append(word)
        if skip_slots and len(found) > 1:
            return [w for w in found if w not in self.slots] or found
        return found

    def bad_state(self) -> str | None:
        """A word standing where the state should be that names no state: the word after
        "to"/"at"/"到", or an all-caps word like "IMPLEMENT"."""
        for word in self.words:
            if _state(word) is None and (
                (word in self.slots and word.lower() not in _FILLER)
                or (_STATE_LIKE_RE.match(word) and word not in _NOT_STATES)
            ):
                return word
        return None


_FILLER = {"the", "a", "an", "state", "stage", "step", "it"}


def _parse_sentence(text: str, language: Language) -> Intent:
    low = text.casefold().replace("\u2019", "'")
    words = _Words(text)

    def intent(
        action: Action, rule: str, *, run_id: str | None = None, error: str | None = None
    ) -> Intent:
        return Intent(action=action, run_id=run_id, language=language, rule=rule, error=error)

    # 1. Never approve from a sentence.
    if _APPROVE_EN.search(low) or _APPROVE_ZH.search(_AWAITING_ZH.sub("", low)):
        which = "en" if _APPROVE_EN.search(low) else "zh"
        return intent(
            "unknown",
            "en: approve (refused)" if which == "en" else "zh: 批准 (refused)",
            error=_say(
                language,
                "I never approve a PR from a sentence: send /approve_pr <run_id> <confirm_token>.",
                "不会根据一句话批准 PR：请发送 /approve_pr <run_id> <confirm_token>。",
            ),
        )

    # 2. Help.
    if (lang := _which(low, _HELP_EN, _HELP_ZH)) is not None:
        return intent("help", "en: help" if lang == "en" else "zh: 帮助")

    # 3. Run controls: exactly one verb, one named run, and a state for resume/retry.
    verbs: list[tuple[Action, Language]] = []
    for verb, en, zh in _CONTROL_VERBS:
        if (lang := _which(low, en, zh)) is not None:
            verbs.append((verb, lang))
    if len(verbs) > 1:
        names = " / ".join(a for a, _ in verbs)
        return intent(
            "unknown",
            "run control (ambiguous)",
            error=_say(
                language,
                f"One action at a time, please ({names}).",
                f"一次只做一个操作（{names}）。",
            ),
        )
    if verbs:
        return _control(verbs[0][0], verbs[0][1], words, language)

    # 4. PRs waiting for approval.
    if (lang := _which(low, _PENDING_EN, _PENDING_ZH)) is not None:
        return _with_limit(
            "pending_pr", "en: pending prs" if lang == "en" else "zh: 待审批的PR", words, language
        )

    run_ids = words.run_ids()
    # 5. One run, read: status beats show ("查看 X 状态" asks for the state).
    if run_ids:
        status = _which(low, _STATUS_EN, _STATUS_ZH)
        show = _which(low, _SHOW_EN, _SHOW_ZH)
        if status is not None:
            action: Action = "status"
            rule = "en: status of <run>" if status == "en" else "zh: <run> 状态"
        elif show is not None:
            action, rule = "show", ("en: show <run>" if show == "en" else "zh: 查看 <run>")
        elif len(words.words) == 1 and _WORD_RE.sub("", text).strip(" ?？!！.。") == "":
            action, rule = "status", "<run> alone"
        else:
            return intent("unknown", "no rule matched")
        if len(run_ids) > 1:
            return intent(action, rule, error=_which_run_of(run_ids, language))
        return intent(action, rule, run_id=run_ids[0])

    # 6. No run named: the list of runs, or the overall picture (also the list).
    if (lang := _which(low, _LIST_EN, _LIST_ZH)) is not None:
        return _with_limit(
            "list", "en: list runs" if lang == "en" else "zh: 列出运行", words, language
        )
    if (lang := _which(low, _OVERALL_EN, _OVERALL_ZH)) is not None:
        return _with_limit(
            "list", "en: overall status" if lang == "en" else "zh: 整体状态", words, language
        )
    if (lang := _which(low, _SHOW_EN, _SHOW_ZH)) is not None:
        return intent(
            "show",
            "en: show <run>" if lang == "en" else "zh: 查看 <run>",
            error=_which_run(f"show {EXAMPLE_RUN}", f"查看 {EXAMPLE_RUN}", language),
        )

    return intent("unknown", "no rule matched")


def _which_run(example_en: str, example_zh: str, language: Language) -> str:
    # Never a default run: the previous bot acted on "the current run" for a bare "暂停".
    return _say(
        language,
        f'Which run? Name it, e.g. "{example_en}"; I never pick one for you.',
        f"请指明运行 ID，例如“{example_zh}”；不会替你默认选择运行。",
    )


def _which_run_of(run_ids: list[str], language: Language) -> str:
    names = ", ".join(run_ids)
    return _say(
        language, f"Which run? I see several: {names}.", f"请只指明一个运行，这里有多个：{names}。"
    )


_CONTROL_WORDS: dict[str, tuple[str, str, str, str]] = {
    # action: EN rule, ZH rule, EN verb, ZH verb
    "pause": ("en: pause <run>", "zh: 暂停 <run>", "pause", "暂停"),
    "resume": ("en: resume <run> to <state>", "zh: 恢复 <run> 到 <state>", "resume", "恢复"),
    "retry": ("en: retry <run> at <state>", "zh: 重试 <run> 到 <state>", "retry", "重试"),
}
_CONNECTOR_EN = {"resume": " to IMPLEMENTING", "retry": " at IMPLEMENTING", "pause": ""}
_CONNECTOR_ZH = {"resume": " 到 IMPLEMENTING", "retry": " 到 IMPLEMENTING", "pause": ""}


def _control(action: Action, matched: Language, words: _Words, language: Language) -> Intent:
    en_rule, zh_rule, en_verb, zh_verb = _CONTROL_WORDS[action]
    rule = en_rule if matched == "en" else zh_rule
    run_ids = words.run_ids(skip_slots=action != "pause")

    def error(message: str) -> Intent:
        return Intent(action=action, language=language, rule=rule, error=message)

    if not run_ids:
        return error(
            _which_run(
                f"{en_verb} {EXAMPLE_RUN}{_CONNECTOR_EN[action]}",
                f"{zh_verb} {EXAMPLE_RUN}{_CONNECTOR_ZH[action]}",
                language,
            )
        )
    if len(run_ids) > 1:
        return error(_which_run_of(run_ids, language))
    run_id = run_ids[0]
    if action == "pause":
        return Intent(action=action, run_id=run_id, language=language, rule=rule)

    if len(words.states) > 1:
        names = ", ".join(words.states)
        return error(
            _say(
                language,
                f"Which state? I see several: {names}.",
                f"请只给出一个目标状态，这里有多个：{names}。",
            )
        )
    if not words.states:
        bad = words.bad_state()
        if bad is not None:
            return error(_unknown_state(bad, language))
        return error(
            _say(
                language,
                f'Which state? Say e.g. "{en_verb} {run_id}{_CONNECTOR_EN[action]}".',
                f"请给出目标状态，例如“{zh_verb} {run_id}{_CONNECTOR_ZH[action]}”。",
            )
        )
    return Intent(
        action=action, run_id=run_id, target_state=words.states[0], language=language, rule=rule
    )


def _with_limit(action: Action, rule: str, words: _Words, language: Language) -> Intent:
    if not words.numbers:
        return Intent(action=action, language=language, rule=rule)
    if len(words.numbers) > 1:
        return Intent(
            action=action,
            language=language,
            rule=rule,
            error=_say(
                language,
                f"How many? I see several numbers: {', '.join(words.numbers)}.",
                f"要几个？这里有多个数字：{'、'.join(words.numbers)}。",
            ),
        )
    limit = _limit(words.numbers[0])
    if limit is None:
        return Intent(
            action=action,
            language=language,
            rule=rule,
            error=_bad_limit(words.numbers[0], language),
        )
    return Intent(action=action, limit=limit, language=language, rule=rule)


# --- entry points --------------------------------------------------------------------------


def parse_message(text: str) -> Intent:
    """The intent of one operator message. Deterministic: the same text, the same intent."""
    text = text.strip()
    language = detect_language(text)
    if not text:
        return Intent(action="unknown", language=language, rule="empty message")
    if text.startswith("/"):
        return _parse_command(text, language)
    return _parse_sentence(text, language)


_HELP_EN_TEXT = """\
Commands:
/list [N] — the latest runs (N from 1 to 100)
/show <run_id> — one run in detail
/status <run_id> — one run's state
/pending_pr [N] — PR requests waiting for approval
/approve_pr <run_id> <confirm_token> — open the PR (the only way to approve)
/approve_plan <run_id> — approve the plan a skill pack's discovery wrote
/pause <run_id> — pause a run
/resume <run_id> <target_state> — resume a paused run at a state
/retry <run_id> <target_state> — retry a failed run from a state
/overview — campaigns' funnels, runs needing attention, PRs waiting, cost
/create <owner/repo> [more…] [--skills NAME@VERSION] — new runs (write chats)
/help or /start — this message

Or write a sentence:
  list runs · list 5 runs · what's going on
  status of run_90ab3ea76842 · show run_90ab3ea76842
  pause run_90ab3ea76842
  resume run_90ab3ea76842 to IMPLEMENTING
  retry run_90ab3ea76842 at ITERATING
  pending prs
Chinese works too: 列出运行 · 暂停 run_90ab3ea76842

Sentences never approve a PR, and every action names its run.
States: {states}"""

_HELP_ZH_TEXT = """\
命令：
/list [N] — 最近的运行（N 为 1 到 100）
/show <run_id> — 查看一个运行的详情
/status <run_id> — 查看一个运行的状态
/pending_pr [N] — 待审批的 PR 请求
/approve_pr <run_id> <confirm_token> — 批准并开 PR（唯一的批准方式）
/approve_plan <run_id> — 批准 discovery 阶段写出的计划
/pause <run_id> — 暂停运行
/resume <run_id> <target_state> — 把暂停的运行恢复到某个状态
/retry <run_id> <target_state> — 从某个状态重试失败的运行
/overview — 各 campaign 的漏斗、需要处理的运行、待审批 PR、花费
/create <owner/repo> [more…] [--skills NAME@VERSION] — 新建运行（需写权限）
/help 或 /start — 显示本帮助

也可以直接说：
  列出运行 · 列出 5 个运行 · 目前情况
  查看 run_90ab3ea76842 状态 · run_90ab3ea76842 状态
  暂停 run_90ab3ea76842
  恢复 run_90ab3ea76842 到 IMPLEMENTING
  重试 run_90ab3ea76842 到 ITERATING
  待审批的PR
English works too: list runs · pause run_90ab3ea76842

一句话不会批准 PR；每个操作都要写明运行 ID。
状态：{states}"""


def help_text(language: str) -> str:
    """The commands and example sentences; Chinese for "zh" (or a zh-* Telegram locale)."""
    states = ", ".join(RunState)
    template = _HELP_ZH_TEXT if language.lower().startswith("zh") else _HELP_EN_TEXT
    return template.format(states=states)
