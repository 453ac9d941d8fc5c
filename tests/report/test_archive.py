"""The tamper-evident archive: an untouched drill verifies; any edit names its file/line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drdrill.cli import main
from drdrill.records.audit import AuditTrail
from drdrill.report.archive import MANIFEST, verify, verify_chain
from drdrill.report.writer import DrillReport
from drdrill.support.jsonl import GENESIS, line_hash

from .drill_data import report_dir

RECORDS = 6


def sealed(tmp_path: Path) -> Path:
    """A drill's report directory as ``Drill.close`` leaves it: artifacts, a chained audit
    trail of ``RECORDS`` records, the manifest."""
    out, _ = report_dir(tmp_path)
    (out / "audit.jsonl").unlink()
    trail = AuditTrail(out / "audit.jsonl", who="ops@host")
    for i in range(RECORDS - 1):
        trail.record(f"action_{i + 1}", target="lab", outcome="succeeded", parameters={"i": i})
    trail.record("drill_finished", target="lab", outcome="rolled back", parameters={})
    (out / "locust").mkdir()
    (out / "locust" / "requests.jsonl").write_text('{"t_ns": 1, "ok": true}\n')
    DrillReport(out, out.parent).seal("d-1")
    return out


def audit_lines(drill: Path) -> list[str]:
    return (drill / "audit.jsonl").read_text().splitlines()


def rewrite(drill: Path, lines: list[str]) -> None:
    (drill / "audit.jsonl").write_text("\n".join(lines) + "\n")


def problems(drill: Path) -> list[str]:
    return [str(p) for p in verify(drill).problems]


def test_an_untouched_archive_verifies(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    result = verify(drill)
    manifest = json.loads((drill / MANIFEST).read_text())

    assert result.ok, result.problems
    assert (result.files, result.records) == (len(manifest["files"]), RECORDS)
    names = [f["path"] for f in manifest["files"]]
    assert names == sorted(names)
    assert {"audit.jsonl", "summary.json", "summary.md", "timeline.png", "ledger.json"} <= set(
        names
    )
    assert "locust/requests.jsonl" in names and MANIFEST not in names
    png = next(f for f in manifest["files"] if f["path"] == "timeline.png")
    assert png["size"] == (drill / "timeline.png").stat().st_size and len(png["sha256"]) == 64
    assert manifest["audit_chain"] == {
        "path": "audit.jsonl",
        "records": RECORDS,
        "head": line_hash(audit_lines(drill)[-1].encode()),
    }


def test_every_audit_line_carries_its_place_and_the_hash_of_the_line_before(
    tmp_path: Path,
) -> None:
    drill = sealed(tmp_path)
    records = [json.loads(line) for line in audit_lines(drill)]

    assert [r["seq"] for r in records] == list(range(1, RECORDS + 1))
    assert records[0]["prev"] == GENESIS
    for before, record in zip(audit_lines(drill), records[1:], strict=False):
        assert record["prev"] == line_hash(before.encode())


def test_a_changed_artifact_is_named(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    text = (drill / "summary.md").read_text()
    (drill / "summary.md").write_text(text.replace("PASSED", "PASSES"))  # same size

    assert problems(drill) == ["summary.md: changed after the seal (its sha256 differs)"]

    (drill / "ledger.json").write_text(json.dumps({"acked": 500, "lost": 12}))
    assert problems(drill)[0].startswith("ledger.json: changed after the seal (")


def test_a_deleted_or_added_artifact_is_named(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    (drill / "locust" / "requests.jsonl").unlink()
    (drill / "zz-notes.txt").write_text("added later")

    assert problems(drill) == [
        "locust/requests.jsonl: missing (deleted after the seal)",
        "zz-notes.txt: not in the manifest (added after the seal)",
    ]


def test_an_edited_audit_line_is_named(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    lines = audit_lines(drill)
    lines[2] = lines[2].replace('"succeeded"', '"failed"')
    rewrite(drill, lines)

    assert problems(drill) == [
        "audit.jsonl line 3: changed after it was written (line 4 names another line before it)"
    ]


def test_an_audit_line_edited_into_nonsense_is_named(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    lines = audit_lines(drill)
    lines[1] = lines[1][:40]
    rewrite(drill, lines)

    assert problems(drill) == ["audit.jsonl line 2: not a chained audit record (edited or torn)"]


def test_the_last_audit_line_edited_is_named_against_the_manifest(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    lines = audit_lines(drill)
    lines[-1] = lines[-1].replace('"rolled back"', '"rolled back in part"')
    rewrite(drill, lines)

    assert problems(drill) == [
        f"audit.jsonl line {RECORDS}: changed after it was written (not the manifest's chain head)"
    ]


@pytest.mark.parametrize(
    ("deleted", "expected"),
    [
        (0, "audit.jsonl line 1: record 1 is missing before it (deleted or moved)"),
        (2, "audit.jsonl line 3: record 3 is missing before it (deleted or moved)"),
        (RECORDS - 1, f"audit.jsonl line {RECORDS}: record {RECORDS} is missing at the end"),
    ],
)
def test_a_deleted_audit_line_is_named(tmp_path: Path, deleted: int, expected: str) -> None:
    drill = sealed(tmp_path)
    lines = audit_lines(drill)
    del lines[deleted]
    rewrite(drill, lines)

    (problem,) = problems(drill)
    assert problem.startswith(expected)


def test_two_deleted_audit_lines_are_named_together(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    lines = audit_lines(drill)
    del lines[1:3]
    rewrite(drill, lines)

    assert problems(drill) == [
        "audit.jsonl line 2: records 2..3 are missing before it (deleted or moved)"
    ]


def test_reordered_audit_lines_are_named_at_the_first_moved_line(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    lines = audit_lines(drill)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(drill, lines)

    found = problems(drill)
    assert found[0] == (
        "audit.jsonl line 2: inserted or moved here (the next line follows the one before)"
    )
    assert all(p.startswith("audit.jsonl line ") for p in found)


def test_an_inserted_audit_line_is_named(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    lines = audit_lines(drill)
    forged = json.loads(lines[1])
    forged.update(action="approve_everything", seq=3, prev=line_hash(lines[1].encode()))
    lines.insert(2, json.dumps(forged))
    rewrite(drill, lines)

    assert problems(drill) == [
        "audit.jsonl line 3: inserted or moved here (line 4 follows the one before)"
    ]


def test_a_record_appended_after_the_seal_is_named(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    AuditTrail(drill / "audit.jsonl", who="intruder@host").record(
        "approve", target="lab", outcome="succeeded"
    )

    assert problems(drill) == [f"audit.jsonl line {RECORDS + 1}: added after the drill was sealed"]


def test_a_drill_that_was_never_sealed_does_not_verify(tmp_path: Path) -> None:
    drill, _ = report_dir(tmp_path)

    assert problems(drill) == [
        "manifest.json: missing: the drill was never sealed (it did not end?)"
    ]


def test_a_torn_line_keeps_its_place_in_the_chain_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, who="ops@host")
    trail.record("fail_region", target="lab", outcome="started")
    with path.open("a") as stream:
        stream.write('{"action": "promote_data')  # a writer killed mid-line
    trail.record("promote_database", target="lab", outcome="started")
    trail.record("promote_database", target="lab", outcome="succeeded")

    found, count = verify_chain(path)

    assert [str(p) for p in found] == [
        "audit.jsonl line 2: not a chained audit record (edited or torn)"
    ]
    assert count == 4
    assert [r["seq"] for r in trail.records()] == [1, 3, 4]


def test_writers_in_two_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    script = (
        "import sys; from pathlib import Path; from drdrill.records.audit import AuditTrail\n"
        "trail = AuditTrail(Path(sys.argv[1]), who=sys.argv[2])\n"
        "for i in range(100): trail.record('step', target='lab', outcome=str(i))\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path), name]) for name in "ab"]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]

    found, count = verify_chain(path)

    assert (found, count) == ([], 200)


def test_drdrill_report_verify_exits_non_zero_naming_the_first_bad_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drill = sealed(tmp_path)
    config = tmp_path / "drdrill.yaml"
    config.write_text(f"reports_dir: {drill.parent}\n")

    assert main(["--drill-config", str(config), "report", "--verify", str(drill)]) == 0
    out = capsys.readouterr().out
    assert f"verified {drill}: " in out and f"audit trail of {RECORDS} records" in out
    assert main(["--drill-config", str(config), "report", "--verify", "--latest"]) == 0
    assert main(["--drill-config", str(config), "report", "--verify", "d-1"]) == 0
    capsys.readouterr()

    lines = audit_lines(drill)
    lines[3] = lines[3].replace('"i": 3', '"i": 4')
    rewrite(drill, lines)
    (drill / "summary.md").write_text("all good")

    assert main(["--drill-config", str(config), "report", "--verify"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"NOT VERIFIED {drill}: audit.jsonl line 4: changed after it was written "
        "(line 5 names another line before it)"
    )
    assert out[1].startswith("  also summary.md: changed after the seal")

    assert main(["--drill-config", str(config), "report", "--verify", "no-such-drill"]) == 2
    assert "no such drill directory" in capsys.readouterr().err


def test_a_trail_cut_short_before_the_seal_does_not_verify(tmp_path: Path) -> None:
    """A drill that died before its ``drill_finished`` record, sealed afterwards."""
    out, _ = report_dir(tmp_path)
    (out / "audit.jsonl").unlink()
    trail = AuditTrail(out / "audit.jsonl", who="ops@host")
    trail.record("fault_injected", target="lab", outcome="succeeded", parameters={})
    DrillReport(out, out.parent).seal("d-1")

    assert problems(out) == [
        "audit.jsonl line 1: does not end with the drill's drill_finished record "
        "(cut short before the seal)"
    ]


def test_a_manifest_rewritten_with_its_files_is_caught_by_the_kept_seal(tmp_path: Path) -> None:
    drill = sealed(tmp_path)
    (drill / "summary.md").write_text("RTO 1 s, everything passed\n")
    seals = (drill.parent / "seals.jsonl").read_text()
    DrillReport(drill, drill.parent).seal("d-1")  # a consistent new manifest...
    (drill.parent / "seals.jsonl").write_text(seals)  # ...and the kept seal put back

    assert problems(drill) == [
        "manifest.json: rewritten after the seal (its sha256 is not the one seals.jsonl kept)"
    ]


def test_the_kept_seals_are_one_chain_across_drills(tmp_path: Path) -> None:
    first = sealed(tmp_path / "a")
    second = first.parent / "second"
    second.mkdir()
    AuditTrail(second / "audit.jsonl", who="ops@host").record(
        "drill_finished", target="lab", outcome="rolled back", parameters={}
    )
    DrillReport(second, second.parent).seal("d-2")
    chain, records = verify_chain(first.parent / "seals.jsonl", name="seals.jsonl")

    assert (chain, records) == ([], 2)
    assert verify(first).ok and verify(second).ok
