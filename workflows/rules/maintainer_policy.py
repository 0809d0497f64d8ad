"""The maintainers' rules, decided before any fork: what a repository's documents say about
AI-generated or automated contributions (banned / ask first / disclosure required / nothing),
whether it opted out, whether a PR for the same change exists, and so where the run goes.

Pure: text in, evidence (file, line, quote) out. The texts come from GitHub through a bounded
activity (`activities/maintainer_policy.py`); nothing here trusts them beyond reading.

How a sentence is read (the tables in tests/workflows/rules/test_maintainer_policy.py):

- it speaks of AI authorship ("AI-generated", "LLM", "use of ChatGPT", "coding agents") or of
  automated contributions ("automated PRs", "pull requests from bots") and
  - refuses them ("do not accept", "will be closed", "prohibited") → banned, unless the
    refusal is conditional ("without disclosure" → disclosure required; "that you have not
    reviewed", "unless discussed" → ask first: a person decides);
  - asks for disclosure ("disclose", "must state", a PR-template checkbox) → disclosure
    required;
- or, AI or not, it asks for a conversation before a PR ("open an issue first", "discuss
  before submitting"), vouching, or a CLA for bots → ask first.

Which of the upstream's PRs count as "the same change": a PR whose head branch is this run's
branch (`agentpr/<run id>`; a campaign's run id is `<campaign>.<owner>.<repo>`, so this is the
campaign's marker: open → skip, closed unmerged → a maintainer closed it, merged → done), or
an open PR whose title is the run's PR title, or holds every keyword of it (two or more words
of four letters or more outside a short list of generic words). Branch first because it is
exact; titles because another contributor (or another agentpr) may already be doing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from contracts import (
    MaintainerPolicy,
    PolicyDocument,
    PolicyDocuments,
    PolicyEvidence,
    PolicyKind,
    PolicyOutcome,
    PullRequestSeen,
    PullRequestsSeen,
)
from contracts.bounds import clip

# Files whose presence is an opt-out, wherever the reader found them (root or .github/).
OPT_OUT_FILE = ".agentprignore"
# Evidence kept per run: enough to show why, bounded whatever a repository says.
MAX_EVIDENCE = 20

_AI = r"(?:A\.?I\.?|LLMs?|GenAI|generative[- ]AI|large[- ]language[- ]models?)"
_TOOLS = r"(?:ChatGPT|Copilot|Claude(?:\s+Code)?|Codex|Gemini|Cursor|Devin|GPT-?\d[\w.]*)"
_AUTHORSHIP = re.compile(
    rf"""
      \b{_AI}[- ]?(?:generated|assisted|written|authored|created|produced|based|powered|
                    tools?|coding|agents?|assistants?|models?|slop|code|contributions?|use|usage)\b
    | \b(?:generated|written|created|authored|produced|made)\s+(?:\w+\s+)?(?:by|with|using|via)
          \s+(?:an?\s+|the\s+)?(?:{_AI}|{_TOOLS})(?!\w)
    | \b(?:use|using|used|usage)\s+(?:of\s+)?(?:an?\s+)?(?:{_AI}|{_TOOLS}|generative)(?!\w)
    | \b(?:ChatGPT|Copilot|GPT-?\d[\w.]*)(?!\w)
    | \bvibe[- ]?cod
    | \b(?:autonomous|coding|AI)\s+agents?\b
    | \bagentic\b
    | \b(?:automated|bot|bots|machine[- ]generated|auto-?generated|mass|scripted|tool[- ]generated)
          [- ](?:[\w-]+\s+){{0,2}}?(?:pull\s+requests?|PRs?|contributions?|submissions?|patches)\b
    | \b(?:pull\s+requests?|PRs?|contributions?|submissions?|patches)\s+(?:\w+\s+){{0,2}}?
          (?:from|by)\s+(?:\w+\s+)?(?:bots?|automated\s+tools?|automation|scripts?)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_REFUSAL = re.compile(
    r"""
      \b(?:do(?:es)?\s+not|don'?t|doesn'?t|will\s+not|won'?t|cannot|can'?t|can\s+not|no\s+longer|
          are\s+not|is\s+not)\s+(?:\w+\s+){0,2}?
          (?:accept(?:ed|ing)?|allow(?:ed|ing)?|permit(?:ted)?|welcome|consider(?:ed)?|review(?:ed)?|
             merge(?:d)?|take)\b
    | \b(?:prohibit(?:ed|s)?|forbid(?:den|s)?|ban(?:ned|s)?|disallow(?:ed)?|
          not\s+(?:allowed|permitted|welcome|accepted))\b
    | \b(?:will|shall|may)\s+be\s+(?:\w+\s+)?(?:closed|rejected|declined|deleted|removed|locked|
          banned|blocked)\b
    | \bare\s+(?:\w+\s+)?(?:closed|rejected|declined)\b
    | \b(?:reject|decline|refuse)[sd]?\b
    | \bno\s+(?:AI|LLMs?|A\.I\.|bots?|automated|machine)\b
    | \bzero[- ]tolerance\b
    | \b(?:must|may|shall)\s+not\s+(?:\w+\s+){0,2}?(?:use|submit|open|send|create|contain|include)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# "We don't ban AI tools": a refusal word that is itself denied.
_NOT_REFUSAL = re.compile(
    r"(?:\bnot|n't|\bnever)\s+(?:\w+\s+)?(?:ban(?:ned)?|prohibit\w*|forbid\w*|disallow\w*|reject\w*)",
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"""\b(?:unless|except|without\s+(?:\w+\s+){0,2}?(?:disclos|label|mark|mention|stat|discuss|prior|
        approv|an?\s+issue|human|understand|test|verif|check|care)|if\s+(?:they|it|you)\b|(?:that|which)\s+(?:\w+\s+){0,2}?
        (?:not|n't)\b|not\s+(?:been\s+)?(?:reviewed|tested|understood|verified|checked))""",
    re.IGNORECASE | re.VERBOSE,
)
_DISCLOSURE = re.compile(
    r"""\bdisclos\w*|\bdeclar\w*|\btransparen\w*
      | \b(?:must|should|please|required\s+to|need\s+to)\s+(?:\w+\s+)?(?:clearly\s+|explicitly\s+)?
          (?:state|mention|indicate|label|mark|flag|tag|note|say)\b
      | \b(?:let\s+us\s+know|tell\s+us)\b""",
    re.IGNORECASE | re.VERBOSE,
)
_CHECKBOX = re.compile(r"^\s*(?:[-*+]\s*)?\[[ xX]\]")
_ASK_FIRST = re.compile(
    r"""
      \bopen\s+(?:an?\s+)?(?:\w+\s+){0,2}?(?:issue|discussion)s?\s+(?:\w+\s+){0,3}?
          (?:first|before|prior)\b
    | \b(?:first|before\s+\w+ing\b[^.]{0,60}?),?\s+(?:please\s+)?(?:open|file|create|start)\s+
          (?:an?\s+)?(?:issue|discussion)\b
    | \bdiscuss\w*\b[^.]{0,60}?\b(?:before|prior\s+to|first)\b
    | \b(?:before|prior\s+to)\s+(?:\w+\s+)?(?:opening|submitting|sending|creating|making|starting)\s+
          [^.]{0,40}?\b(?:PRs?|pull\s+requests?|contributions?|changes?|work)\b[^.]{0,80}?
          \b(?:issue|discuss\w*|talk|ask|contact|reach\s+out|approv\w*|agree\w*)
    | \bvouch\w*
    | \bunsolicited\s+(?:\w+\s+)?(?:PRs?|pull\s+requests?|contributions?|patches)\b
    | \b(?:only|exclusively)\s+accept\s+(?:\w+\s+)?(?:PRs?|pull\s+requests?|contributions?)\s+
          (?:for|from|that|linked|tied|which)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CLA = re.compile(r"\bCLAs?\b|contributor\s+licen[cs]e\s+agreement", re.IGNORECASE)
_BOTS = re.compile(r"\b(?:bots?|automated|automation|AI|agents?|machine)\b", re.IGNORECASE)

_FENCE = re.compile(r"^\s*(?:```|~~~)")
# Where a new statement starts even without a blank line: list items, headings, tables,
# quotes, comments.
_UNIT_START = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#|\||>|<!--)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[*_]?[A-Z0-9])")
_CONVENTIONAL_PREFIX = re.compile(r"^\s*[a-z]+(?:\([^)]*\))?!?:\s*", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
# Words too common in PR titles to say which change a PR makes.
_GENERIC_WORDS = frozenset(
    {
        "feat", "feature", "features", "support", "supports", "update", "updates", "apply",
        "change", "changes", "implement", "adds", "added", "adding", "new", "with", "from",
        "into", "the", "and", "for", "this", "that", "fix", "fixes", "chore", "docs",
    }
)  # fmt: skip


def _units(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, text) of each statement: a paragraph, list item or heading, with
    wrapped lines joined; fenced code is skipped (examples are not rules)."""
    lines: list[str] = []
    first = 0
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            if lines:
                yield first, " ".join(lines)
                lines = []
            continue
        if in_fence:
            continue
        if not line.strip() or _UNIT_START.match(line):
            if lines:
                yield first, " ".join(lines)
                lines = []
            if not line.strip():
                continue
        if not lines:
            first = number
        lines.append(line.strip())
    if lines:
        yield first, " ".join(lines)


def _sentences(unit: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(unit) if s.strip()]


def classify_sentence(sentence: str) -> PolicyKind:
    """What one sentence says about an agent's PR (see the module docstring)."""
    about_ai = _AUTHORSHIP.search(sentence) is not None
    if about_ai:
        refuses = _REFUSAL.search(sentence) is not None and not _NOT_REFUSAL.search(sentence)
        discloses = _DISCLOSURE.search(sentence) is not None or bool(_CHECKBOX.match(sentence))
        if refuses:
            if not _CONDITION.search(sentence):
                return PolicyKind.BANNED
            return PolicyKind.DISCLOSURE_REQUIRED if discloses else PolicyKind.ASK_FIRST
        if discloses:
            return PolicyKind.DISCLOSURE_REQUIRED
    if _ASK_FIRST.search(sentence):
        return PolicyKind.ASK_FIRST
    if _CLA.search(sentence) and _BOTS.search(sentence):
        return PolicyKind.ASK_FIRST  # a CLA for bots: someone must sign for the agent
    return PolicyKind.NONE


def classify_document(path: str, text: str) -> list[PolicyEvidence]:
    """Every sentence of the document that says something about an agent's PR, with its line."""
    if path.rsplit("/", 1)[-1].lower() == OPT_OUT_FILE:
        return [_opt_out(path, text)]
    found: list[PolicyEvidence] = []
    for line, unit in _units(text):
        for sentence in _sentences(unit):
            kind = classify_sentence(sentence)
            if kind != PolicyKind.NONE:
                found.append(PolicyEvidence(kind=kind, file=path, line=line, quote=sentence))
            if len(found) >= MAX_EVIDENCE:
                return found
    return found


def _opt_out(path: str, text: str) -> PolicyEvidence:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            return PolicyEvidence(kind=PolicyKind.OPTED_OUT, file=path, line=number, quote=line)
    return PolicyEvidence(kind=PolicyKind.OPTED_OUT, file=path, quote="(present)")


def classify_documents(documents: Iterable[PolicyDocument]) -> list[PolicyEvidence]:
    found = [e for doc in documents for e in classify_document(doc.path, doc.text)]
    return found[: MAX_EVIDENCE * 2]


def excluded_by(full_name: str, patterns: Iterable[str]) -> str | None:
    """The first of a campaign's exclude patterns (owner/repo regexes, matched anywhere, as the
    CLI's --exclude) that this repository matches."""
    for pattern in patterns:
        if re.search(pattern, full_name, re.IGNORECASE):
            return pattern
    return None


def title_keywords(title: str) -> frozenset[str]:
    bare = _CONVENTIONAL_PREFIX.sub("", title.lower())
    return frozenset(w for w in _WORD.findall(bare) if len(w) >= 4 and w not in _GENERIC_WORDS)


def _same_title(ours: str, theirs: str) -> bool:
    def norm(title: str) -> str:
        return " ".join(_WORD.findall(_CONVENTIONAL_PREFIX.sub("", title.lower())))

    if norm(ours) and norm(ours) == norm(theirs):
        return True
    wanted = title_keywords(ours)
    return len(wanted) >= 2 and wanted <= set(_WORD.findall(theirs.lower()))


def pull_request_evidence(
    pulls: Iterable[PullRequestSeen], branch: str, title: str | None
) -> list[PolicyEvidence]:
    """The upstream's PRs that already make (or were refused) this change."""
    found: list[PolicyEvidence] = []
    for pull in pulls:
        kind: PolicyKind | None = None
        why = ""
        if pull.head_ref == branch:
            if pull.state == "open":
                kind, why = PolicyKind.OPEN_PR, f"open from this run's branch {branch}"
            elif pull.merged:
                kind, why = PolicyKind.MERGED_PR, f"merged from this run's branch {branch}"
            else:
                kind, why = PolicyKind.CLOSED_PR, f"closed unmerged from this run's branch {branch}"
        elif pull.state == "open" and title and _same_title(title, pull.title):
            kind, why = PolicyKind.OPEN_PR, "open with the same title"
        if kind is not None:
            found.append(
                PolicyEvidence(
                    kind=kind,
                    file=why,
                    quote=pull.title,
                    pr_number=pull.number,
                    url=pull.url,
                )
            )
        if len(found) >= MAX_EVIDENCE:
            break
    return found


# Which evidence stops the run, strongest first. Pull requests are never overridden by
# --ignore-policy: the change exists already, or a maintainer said no to it.
_SKIPS = (PolicyKind.EXCLUDED, PolicyKind.OPTED_OUT, PolicyKind.BANNED)
_SKIPS_WHATEVER = (PolicyKind.OPEN_PR, PolicyKind.CLOSED_PR, PolicyKind.MERGED_PR)
_OVERRIDABLE = frozenset({PolicyKind.OPTED_OUT, PolicyKind.BANNED, PolicyKind.ASK_FIRST})


def decide_policy(
    *,
    excluded_by: str | None,
    ignore_policy: str | None,
    documents: PolicyDocuments | None,
    pulls: PullRequestsSeen | None,
    branch: str,
    title: str | None,
) -> MaintainerPolicy:
    """Where the run goes and why. `pulls` None: the PRs were not read (yet) — a run the
    documents already skip never lists them."""
    evidence: list[PolicyEvidence] = []
    if excluded_by is not None:
        evidence.append(
            PolicyEvidence(
                kind=PolicyKind.EXCLUDED, file="campaign exclude list", quote=excluded_by
            )
        )
    if documents is not None:
        evidence += classify_documents(documents.documents)
    if pulls is not None:
        evidence += pull_request_evidence(pulls.pulls, branch, title)
    disclosure = [e for e in evidence if e.kind == PolicyKind.DISCLOSURE_REQUIRED]
    overridden = ignore_policy is not None

    def stops(kind: PolicyKind) -> bool:
        return kind == PolicyKind.EXCLUDED or not (overridden and kind in _OVERRIDABLE)

    outcome, summary = PolicyOutcome.PROCEED, "no rule against this run"
    for kind in (*_SKIPS, *_SKIPS_WHATEVER, PolicyKind.ASK_FIRST):
        first = next((e for e in evidence if e.kind == kind), None)
        if first is not None and stops(kind):
            outcome = (
                PolicyOutcome.NEEDS_HUMAN if kind == PolicyKind.ASK_FIRST else PolicyOutcome.SKIP
            )
            summary = f"{kind.value}: {first.cite()}"
            break
    else:
        if overridden and any(e.kind in _OVERRIDABLE for e in evidence):
            summary = f"policy ignored ({ignore_policy})"
        elif disclosure:
            summary = f"disclosure required: {disclosure[0].cite()}"
    return MaintainerPolicy(
        outcome=outcome,
        summary=summary[:1000],
        evidence=evidence,
        disclosure_required=bool(disclosure),
        disclosure_evidence=disclosure,
        ignored_because=ignore_policy,
        files_read=[d.path for d in documents.documents] if documents else [],
        pulls_read=len(pulls.pulls) if pulls else 0,
    )


def policy_note(policy: MaintainerPolicy | None) -> str | None:
    """The campaign's one-line note for a run the maintainers' rules stopped."""
    if policy is None or policy.outcome == PolicyOutcome.PROCEED:
        return None
    return clip(policy.summary, 300)


def policy_details(policy: MaintainerPolicy) -> str:
    """The Web UI's current details (markdown) for the maintainers' rules."""
    outcome = {
        PolicyOutcome.PROCEED: "proceed",
        PolicyOutcome.SKIP: "SKIPPED",
        PolicyOutcome.NEEDS_HUMAN: "NEEDS_HUMAN_REVIEW",
    }[policy.outcome]
    lines = [f"**Maintainers' rules: {outcome}** — {policy.summary}"]
    if policy.ignored_because:
        lines.append(f"- ignored: {policy.ignored_because}")
    if policy.disclosure_required:
        lines.append("- disclosure of AI use required")
    lines += [f"- {e.kind.value}: {e.cite()}" for e in policy.evidence[:MAX_EVIDENCE]]
    if policy.note:
        lines.append(f"- {policy.note}")
    return "\n".join(lines)
