"""`agentpr stats`, `inspect-run` and `campaign report` end to end: a real campaign over local
repositories, the real CLI, the numbers an operator reads, the page a browser shows."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from tests.campaign_steps import FORGE, local_repos, prepare_env, wait_for
from tests.insight.browser import render
from tests.operator_steps import ok
from tests.run_env import Env


def test_stats_inspect_run_and_report_of_a_campaign(env: Env, tmp_path: Path) -> None:
    prepare_env(env)
    name = f"insight-{uuid.uuid4().hex[:6]}"
    repos = local_repos(tmp_path / "git", 2)
    ok(
        env.cli(
            "campaign", "start", "--name", name, "--repos-file", str(repos), "--engine",
            "command", "--command", FORGE, "--skip-network-check", "--commit-title",
            "feat: add the Forge provider", timeout=60,
        )
    )  # fmt: skip
    current = wait_for(env, name, lambda s: s["counts"].get("PUSHED") == 2)
    run_ids = sorted(run["run_id"] for run in current["runs"])

    stats = json.loads(ok(env.cli("stats", "--campaign", name, "--since", "1h", "--json")))
    assert stats["runs"] == 2 and stats["states"] == {"PUSHED": 2}
    assert stats["pass_rate"] == 1.0 and stats["verdicts"] == {"PASS": 2}
    assert stats["funnel"]["pushed"] == 2 and stats["funnel"]["merged"] == 0
    assert {row["step"] for row in stats["steps"]} >= {"QUEUED", "PUSHED"}
    # Codemods use no model: the runs cost nothing, and say so in money.
    assert stats["cost"]["total_usd"] == 0.0 and stats["cost"]["note"] == ""
    text = ok(env.cli("stats", "--campaign", name))
    assert f"campaign {name}: 2 runs" in text and "pass rate 100%" in text

    timeline = json.loads(ok(env.cli("inspect-run", "--run-id", run_ids[0], "--json")))
    assert timeline["state"] == "PUSHED" and timeline["entries"][0]["command"] == "create-run"
    assert timeline["entries"][-1]["to_state"] == "PUSHED" and timeline["entries"][-1]["open"]
    text = ok(env.cli("inspect-run", "--run-id", run_ids[0]))
    assert "next" in text and run_ids[0] in text

    page = tmp_path / "report.html"
    out = ok(env.cli("campaign", "report", "--name", name, "--out", str(page)))
    assert f"campaign {name}: 2 runs" in out
    html = page.read_text()
    for run_id in run_ids:
        assert f"/namespaces/default/workflows/{run_id}" in html
    shown = render(page, tmp_path)
    assert len(shown.drawn_canvases()) == 5 and shown.dom.count('<tr class="run">') == 2

    # A finished run's record is read from Temporal once, then from the cache; a damaged cache
    # file is read again from Temporal. Later calls take the finished run's facts from the
    # kept facts (cache/insight) and read no record at all.
    ok(env.cli("mark-done", "--run-id", run_ids[0], "--reason", "landed by hand"))
    wait_for(env, name, lambda s: s["counts"].get("DONE") == 1)

    def counted() -> dict:
        # The still-open stay of the running run grows with the clock: the rest must not move.
        shown = json.loads(ok(env.cli("stats", "--campaign", name, "--json")))
        return {k: v for k, v in shown.items() if k not in ("steps", "stages")}

    first = counted()
    assert first["states"] == {"DONE": 1, "PUSHED": 1}
    kept = env.settings.home / "cache" / "finished-runs" / f"{run_ids[0]}.json"
    assert kept.is_file() and run_ids[0] in kept.read_text()
    assert counted() == first
    assert (env.settings.home / "cache" / "insight").is_dir()
    kept.write_text("damaged")
    assert counted() == first
    shutil.rmtree(env.settings.home / "cache" / "insight")
    assert counted() == first
    assert run_ids[0] in kept.read_text()


def test_bad_windows_and_unknown_campaigns_are_one_line(env: Env, tmp_path: Path) -> None:
    for args, code, words in (
        (("stats", "--since", "7 days"), 2, "--since: '7 days' is not a duration"),
        (("campaign", "report", "--name", "nope", "--out", str(tmp_path)), 2, "is a directory"),
        (("campaign", "report", "--name", f"none-{uuid.uuid4().hex[:6]}"), 1, "has no runs"),
    ):
        result = env.cli(*args)
        assert result.returncode == code, result.stderr
        assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    # Asking about a campaign with no runs keeps nothing (cache/insight).
    assert not (env.settings.home / "cache" / "insight").exists()
