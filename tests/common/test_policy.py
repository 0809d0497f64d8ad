"""manager_policy.json: defaults, per-repository overrides, and one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from common.errors import EXIT_USAGE, UsageError
from common.policy import ManagerPolicy, PolicyError, load_policy
from contracts.policy import DiffBudget, RunPolicy


def write_policy(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "manager_policy.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def policy_error(path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = caught.value.message
    assert "\n" not in message
    return message


def test_absent_file_means_defaults(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "manager_policy.json")
    assert policy == ManagerPolicy()
    assert policy.defaults == RunPolicy(
        codex_sandbox="danger-full-access",
        agent_timeout_minutes=30,
        diff_budget=DiffBudget(max_files=30, max_added_lines=800),
        retry_cap=2,
        require_test_evidence=True,
    )
    assert policy.for_repo("mem0ai/mem0") == policy.defaults


def test_policy_error_is_a_usage_error() -> None:
    assert issubclass(PolicyError, UsageError)
    assert PolicyError("x").exit_code == EXIT_USAGE


def test_full_valid_file(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        {
            "defaults": {
                "codex_sandbox": "workspace-write",
                "agent_timeout_minutes": 20,
                "diff_budget": {"max_files": 10, "max_added_lines": 300},
                "retry_cap": 0,
                "require_test_evidence": False,
            },
            "repos": {
                "mem0ai/mem0": {
                    "codex_sandbox": "read-only",
                    "agent_timeout_minutes": 45,
                    "diff_budget": {"max_files": 4, "max_added_lines": 100},
                    "retry_cap": 5,
                    "require_test_evidence": True,
                }
            },
        },
    )
    policy = load_policy(path)
    assert policy.defaults == RunPolicy(
        codex_sandbox="workspace-write",
        agent_timeout_minutes=20,
        diff_budget=DiffBudget(max_files=10, max_added_lines=300),
        retry_cap=0,
        require_test_evidence=False,
    )
    assert policy.for_repo("mem0ai/mem0") == RunPolicy(
        codex_sandbox="read-only",
        agent_timeout_minutes=45,
        diff_budget=DiffBudget(max_files=4, max_added_lines=100),
        retry_cap=5,
        require_test_evidence=True,
    )
    assert policy.for_repo("virattt/dexter") == policy.defaults


def test_override_merges_over_defaults(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        {
            "defaults": {"agent_timeout_minutes": 20, "diff_budget": {"max_added_lines": 500}},
            "repos": {
                "Mem0ai/Mem0": {"retry_cap": 0, "diff_budget": {"max_files": 4}},
                "virattt/dexter": {"require_test_evidence": False},
            },
        },
    )
    policy = load_policy(path)

    mem0 = policy.for_repo("mem0ai/mem0")  # GitHub names are case-insensitive
    assert mem0.retry_cap == 0
    assert mem0.agent_timeout_minutes == 20  # inherited from defaults
    assert mem0.codex_sandbox == "danger-full-access"  # inherited from built-in defaults
    assert mem0.diff_budget == DiffBudget(max_files=4, max_added_lines=500)
    assert policy.for_repo("MEM0AI/MEM0") == mem0

    dexter = policy.for_repo("virattt/dexter")
    assert dexter.require_test_evidence is False
    assert dexter.diff_budget == DiffBudget(max_files=30, max_added_lines=500)


def test_for_repo_returns_a_copy(tmp_path: Path) -> None:
    policy = ManagerPolicy()
    policy.for_repo("a/b").diff_budget.max_files = 1
    assert policy.defaults.diff_budget.max_files == 30


def test_field_below_minimum_names_repo_and_field(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"repos": {"mem0ai/mem0": {"agent_timeout_minutes": 0}}})
    assert policy_error(path) == (
        f"{path}: repos.mem0ai/mem0.agent_timeout_minutes: Input should be greater than 0"
    )


def test_unknown_sandbox(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"defaults": {"codex_sandbox": "full"}})
    assert policy_error(path) == (
        f"{path}: defaults.codex_sandbox: "
        "Input should be 'read-only', 'workspace-write' or 'danger-full-access'"
    )


def test_misspelt_field(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"defaults": {"retry_cpa": 3}})
    assert policy_error(path) == f"{path}: defaults.retry_cpa: unknown field"


def test_misspelt_field_inside_partial_diff_budget(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"repos": {"a/b": {"diff_budget": {"max_file": 3}}}})
    assert policy_error(path) == f"{path}: repos.a/b.diff_budget.max_file: unknown field"


def test_quoted_number_is_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"defaults": {"retry_cap": "2"}})
    assert policy_error(path) == f"{path}: defaults.retry_cap: Input should be a valid integer"


def test_several_problems_stay_on_one_line(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"defaults": {"retry_cpa": 3, "retry_cap": -1}})
    assert policy_error(path) == (
        f"{path}: defaults.retry_cap: Input should be greater than or equal to 0; "
        "defaults.retry_cpa: unknown field"
    )


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "manager_policy.json"
    path.write_text(
        '{\n  "defaults": {\n    "retry_cap": 1\n    "require_test_evidence": true}\n}\n'
    )
    assert policy_error(path) == f"{path}: invalid JSON at line 4 column 5: Expecting ',' delimiter"


def test_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "manager_policy.json"
    path.write_text('{"defaults": {"retry_cap": 1, "retry_cap": 3}}')
    assert policy_error(path) == f"{path}: duplicate key 'retry_cap'"


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    path = write_policy(tmp_path, [])
    assert policy_error(path) == f"{path}: expected a JSON object"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading the file",
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {})
    path.chmod(0)
    try:
        assert policy_error(path) == f"{path}: cannot read: Permission denied"
    finally:
        path.chmod(0o600)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    # The same OSError path as "Permission denied", testable as root too.
    path = tmp_path / "manager_policy.json"
    path.mkdir()
    assert policy_error(path) == f"{path}: cannot read: Is a directory"


def test_dangling_symlink_is_not_silently_defaults(tmp_path: Path) -> None:
    path = tmp_path / "manager_policy.json"
    path.symlink_to(tmp_path / "missing.json")
    assert policy_error(path) == f"{path}: cannot read: No such file or directory"


@pytest.mark.parametrize("key", ["mem0", "mem0ai/", "/mem0", "a/b/c", "-a/b", "a/..", "a b/c"])
def test_repo_key_must_be_owner_slash_repo(tmp_path: Path, key: str) -> None:
    path = write_policy(tmp_path, {"repos": {key: {}}})
    assert policy_error(path) == f"{path}: repos: {key!r} is not owner/repo"


def test_repo_keys_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"repos": {"mem0ai/mem0": {}, "Mem0ai/mem0": {"retry_cap": 1}}})
    assert policy_error(path) == (
        f"{path}: repos: 'mem0ai/mem0' and 'Mem0ai/mem0' name the same repository"
    )


def test_relative_path_is_reported_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_policy(tmp_path, {"defaults": {"retry_cpa": 3}})
    assert policy_error(Path("manager_policy.json")) == (
        "manager_policy.json: defaults.retry_cpa: unknown field"
    )


def test_prices_and_money_caps(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        {
            "defaults": {
                "max_cost_usd": 5,
                "prices": {"*": {"input_per_mtok": 3, "output_per_mtok": 15}},
            },
            "repos": {"mem0ai/mem0": {"max_cost_usd": 1.5}},
        },
    )
    policy = load_policy(path)
    mem0 = policy.for_repo("mem0ai/mem0")
    assert mem0.max_cost_usd == 1.5 and policy.for_repo("a/b").max_cost_usd == 5
    assert mem0.price_for("any-model") is not None  # the table comes with the defaults


def test_a_negative_price_is_one_line(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path, {"defaults": {"prices": {"gpt-x": {"input_per_mtok": -1, "output_per_mtok": 1}}}}
    )
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    message = str(raised.value)
    assert "\n" not in message and "prices.gpt-x.input_per_mtok" in message, message
