"""One command line, analysed: its segments lexed, each classified (test, check, install) and
checked for safety; the git commands that change history are reported as signals."""

from __future__ import annotations

from dataclasses import dataclass, field

from grading.bounds import add_line, clip
from grading.command_kinds import is_check_argv, is_install_argv, is_test_argv
from grading.safety import (
    git_signal,
    is_scratch_path,
    segment_violations,
    write_problem,
    written_paths,
)
from grading.shell_lexing import (
    REMOTE_SCRIPT_RE,
    change_dir,
    effective_argv,
    masked_after,
    program_name,
    split_segments,
    unwrap_shell,
)

# Commands that only read: nothing to check unless they redirect their output.
_READERS = frozenset(
    "cat head tail less more wc ls ll pwd echo printf rg grep egrep fgrep ag ack awk gawk sort "
    "uniq nl tr cut paste column which type whereis stat file diff cmp jq yq tree du df date "
    "true false test [ [[ basename dirname realpath readlink hostname uname whoami id "
    "printenv set export source . sleep wait read exit return shift local declare unset "
    "alias history hash ps top uptime".split()
)


@dataclass
class ShellAnalysis:
    violations: list[str] = field(default_factory=list)
    git_signals: list[str] = field(default_factory=list)
    is_test: bool = False
    is_check: bool = False
    is_install: bool = False
    status_masked: bool = False  # the command's exit code may not be the test runner's
    uses_git: bool = False
    writes_workspace: bool = False  # writes a path inside the workspace (or a relative one)
    # "tool" and "tool subcommand" of each simple command: a later success resolves failures.
    keys: list[str] = field(default_factory=list)
    # The key of the command that matters most (the git/test/install one, else the first).
    primary_key: str | None = None


def analyze_shell(command: str, workspace: str | None) -> ShellAnalysis:
    """What a shell command line does, as far as grading cares. Tolerant: anything it cannot
    parse is simply not flagged."""
    result = ShellAnalysis()
    script = unwrap_shell(command)
    if script != command.strip() and REMOTE_SCRIPT_RE.match(script):
        # `sh -c "$(curl …)"`: unwrapping the shell left only the downloaded code to run.
        add_line(result.violations, f"curl | sh: {clip(command, 200)}")
    segments = split_segments(script)
    cwd = workspace
    test_at: int | None = None
    primary_is_important = False
    for position, segment in enumerate(segments):
        argv, violations = effective_argv(segment)
        for kind in violations:
            add_line(result.violations, f"{kind}: {clip(segment.text, 200)}")
        if not argv:
            continue
        name = program_name(argv[0])
        key = f"{name} {argv[1]}" if len(argv) > 1 and not argv[1].startswith("-") else name
        result.keys += [name, key] if key != name else [name]
        if result.primary_key is None:
            result.primary_key = key
        if name in ("cd", "pushd"):
            cwd = change_dir(cwd, argv[1] if len(argv) > 1 else "~")
            continue
        if name in _READERS and not segment.redirects:
            continue  # a pure read: nothing below can apply
        for kind in segment_violations(argv, segment, segments, position):
            add_line(result.violations, f"{kind}: {clip(segment.text, 200)}")
        for path in written_paths(argv) + segment.redirects:
            problem = write_problem(path, cwd, workspace)
            if problem is not None:
                add_line(result.violations, f"{problem} ({path}): {clip(segment.text, 200)}")
            elif not is_scratch_path(path):
                result.writes_workspace = True
        important = True
        if name == "git":
            signal = git_signal(argv)
            if signal is not None:
                add_line(result.git_signals, f"{signal}: {clip(segment.text, 200)}")
            result.uses_git = True
        if is_test_argv(argv):
            result.is_test = True
            test_at = position
        elif is_check_argv(argv):
            result.is_check = True
        elif is_install_argv(argv):
            result.is_install = True
        elif name != "git":
            important = False
        if important and not primary_is_important:
            result.primary_key = key
            primary_is_important = True
    if test_at is not None:
        result.status_masked = masked_after(segments, test_at)
    return result
