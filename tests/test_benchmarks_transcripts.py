"""The transcript benchmark case on a tiny tree: what the generator writes, and that every
runner reads all of it. Never timings."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.transcripts import RUNNERS, TREE_VERSION, generate_tree, measure_tree, report
from rxclaude.transcripts import is_transcript


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("tree") / "projects"
    return folder, generate_tree(folder, 1_500_000, seed=3)


def test_the_tree_is_what_its_facts_say(tree: tuple[Path, dict[str, int]]) -> None:
    folder, facts = tree
    files = sorted(folder.rglob("*.jsonl"))
    lines = [line for path in files for line in path.read_bytes().splitlines()]
    frames = [json.loads(line) for line in lines]
    assert facts["files"] == len(files) and facts["lines"] == len(lines)
    assert facts["bytes"] == sum(path.stat().st_size for path in files) >= 1_500_000
    assert all(is_transcript(path) for path in files)
    responses = {
        (frame["message"]["id"], frame["requestId"])
        for frame in frames
        if frame["type"] == "assistant"
    }
    assert facts["responses"] == len(responses)
    calls = [
        block
        for frame in frames
        if frame["type"] == "assistant"
        for block in frame["message"]["content"]
        if block["type"] == "tool_use"
    ]
    assert facts["tool_calls"] == len(calls)
    types = Counter(frame["type"] for frame in frames)
    assert set(types) == {
        "file-history-snapshot",
        "user",
        "assistant",
        "progress",
        "system",
        "cost-state",
    }
    assert any("subagents" in path.parts for path in files)


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first = generate_tree(tmp_path / "one", 300_000, seed=9)
    second = generate_tree(tmp_path / "two", 300_000, seed=9)
    assert first == second
    ones = sorted(path.relative_to(tmp_path / "one") for path in (tmp_path / "one").rglob("*"))
    assert ones == sorted(
        path.relative_to(tmp_path / "two") for path in (tmp_path / "two").rglob("*")
    )
    for relative in ones:
        if relative.suffix == ".jsonl":
            one, two = tmp_path / "one" / relative, tmp_path / "two" / relative
            assert one.read_bytes() == two.read_bytes()


@pytest.mark.parametrize("key", list(RUNNERS))
def test_every_runner_reads_every_line(key: str, tree: tuple[Path, dict[str, int]]) -> None:
    folder, facts = tree
    assert RUNNERS[key](str(folder)) == facts["lines"]


def test_one_round_has_every_case_and_its_ratio(tree: tuple[Path, dict[str, int]]) -> None:
    folder, facts = tree
    results = measure_tree(folder, facts, rounds=1)
    assert list(results["cases"]) == ["ta", "tr", "th", "tstats"]
    for case in results["cases"].values():
        assert len(case["seconds"]) == 1 and case["mb_per_s"] > 0
        assert len(case["vs_ujson"]["per_round"]) == 1
    assert results["cases"]["ta"]["vs_ujson"]["median"] == 1.0
    assert results["rss"]["peak_mib"] >= results["rss"]["baseline_mib"]
    assert results["tree"]["lines"] == facts["lines"]


def test_a_tree_that_does_not_match_its_facts_is_an_error(
    tree: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, facts = tree
    out = folder.parent.parent / "out"
    name = f"transcripts-v{TREE_VERSION}-0.5MB-seed1"  # where report looks for its tree
    shutil.copytree(folder, out / name / "projects")
    wrong = {**facts, "responses": facts["responses"] + 1}
    (out / f"{name}.json").write_text(json.dumps(wrong))
    assert "error" in report(out, 0.5, 1, rounds=1)
    printed = capsys.readouterr().out
    assert f"the handlers counted {facts['responses']:,} responses" in printed
