"""summary.html is a page people read: verdict banner, badges, phases against their
targets, writes by id, pictures embedded, evidence linked, nothing fetched, all escaped."""

from __future__ import annotations

import base64
import dataclasses
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from drdrill.config import load_config
from drdrill.measurement.verdict import judge
from drdrill.report.page import render_page
from drdrill.report.page_figures import IDS_SHOWN
from drdrill.report.summary import DrillSummary, write_summary
from drdrill.report.writer import DrillReport, UnmeasuredDrill

from .drill_data import T0, measurements, report_dir, requests, samples
from .drill_data import summary as drill_summary


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = dataclasses.field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(
            " ".join((c if isinstance(c, str) else c.text).split()) for c in self.children
        ).strip()

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and (cls is None or cls in child.classes):
                    found.append(child)
                found += child.all(tag, cls)
        return found

    def by_id(self, ident: str) -> Node | None:
        return next((n for n in self.all() if n.attrs.get("id") == ident), None)


VOID = {"meta", "img", "br", "hr", "link", "input"}


class Tree(HTMLParser):
    """The page as a tree (html.parser), to ask it what a browser would show."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    return Tree(page).root


def element(root: Node, ident: str) -> Node:
    found = root.by_id(ident)
    assert found is not None, f"no #{ident} on the page"
    return found


def badges(table: Node) -> dict[str, tuple[str, str]]:
    """First cell's text -> (badge class, badge text) per body row."""
    rows = {}
    for row in table.all("tr"):
        cells = row.all("td")
        badge = row.all("span", "badge")
        if cells and badge:
            status = (badge[0].classes - {"badge"}).pop()
            rows[cells[0].text] = (status, badge[0].text)
    return rows


def warn_config(tmp_path: Path) -> Any:
    """dns_failover (0.5 s in the hand-made drill) against 450 ms: over by 11 %, a warning;
    scale_dr (0.7 s) against 500 ms: over by 40 %, a failure."""
    (tmp_path / "drdrill.yaml").write_text("phases: {dns_failover: 450ms, scale_dr: 500ms}\n")
    return load_config(root=tmp_path)


def judged(tmp_path: Path, rto: float = 2.5, lost: int = 0) -> DrillSummary:
    m = measurements(rto, lost)
    ledger = dataclasses.replace(
        m.ledger,
        lost_ids=tuple(f"ord-{i}" for i in range(lost)),
        in_doubt_ids=("ord-x1", "<script>alert(1)</script>", "ord-x3"),
    )
    m = dataclasses.replace(m, ledger=ledger)
    base = drill_summary(tmp_path, rto, lost)
    return dataclasses.replace(base, measurements=m, verdicts=judge(m, warn_config(tmp_path)))


def test_the_banner_says_the_verdict_and_why(tmp_path: Path) -> None:
    failed = dataclasses.replace(judged(tmp_path, rto=4000), outcome="failed")
    root = parse(write_summary(failed, tmp_path / "d-1")["html"].read_text())

    banner = element(root, "verdict")
    assert banner.classes == {"banner", "failed"}
    assert banner.attrs["data-outcome"] == "failed"
    assert banner.all("div", "word")[0].text == "FAILED"
    assert "over target: RTO, Scale DR Infrastructure" in banner.text
    assert root.all("title")[0].text == "DR drill d-1: FAILED"


def test_every_outcome_has_its_own_banner(tmp_path: Path) -> None:
    for outcome in ("passed", "failed", "aborted", "error", "skipped"):
        the_summary = dataclasses.replace(
            drill_summary(tmp_path), outcome=outcome, error=f"why {outcome}"
        )
        banner = element(
            parse(render_page(the_summary.to_json(), None, summary=the_summary)), "verdict"
        )
        assert banner.attrs["data-outcome"] == outcome
        assert banner.all("div", "word")[0].text == outcome.upper()


def test_a_page_written_before_the_drill_ended_says_so(tmp_path: Path) -> None:
    unfinished = judged(tmp_path, lost=2)  # no outcome yet: measured, not rolled back
    banner = element(parse(render_page(unfinished.to_json(), None, summary=unfinished)), "verdict")
    passed = dataclasses.replace(unfinished, outcome="passed")
    final = element(parse(render_page(passed.to_json(), None, summary=passed)), "verdict")

    assert "the drill has not ended (its rollback and final outcome are pending)" in banner.text
    assert "rolled back" not in banner.text
    assert "rolled back (2 acknowledged before the fault lost, within the RPO)." in final.text


def test_the_metrics_table_has_styled_pass_warn_fail_badges(tmp_path: Path) -> None:
    page = write_summary(judged(tmp_path, rto=4000), tmp_path / "d-1")["html"].read_text()
    metrics = element(parse(page), "metrics")

    assert badges(metrics) == {
        "RTO": ("fail", "Fail"),
        "RPO": ("pass", "Pass"),
        "DNS Failover": ("warn", "Needs improvement"),
        "Assessment": ("pass", "Pass"),
        "Scale DR Infrastructure": ("fail", "Fail"),
        "Database Promotion": ("pass", "Pass"),
        "Update Application Configuration": ("pass", "Pass"),
        "Service Verification": ("pass", "Pass"),
    }
    rto = next(r for r in metrics.all("tr") if r.attrs.get("data-figure") == "rto")
    assert [c.text for c in rto.all("td")][:3] == ["RTO", "30 min", "66.7 min"]
    assert ".badge.warn" in page and ".badge.fail" in page  # styled by CSS, no emoji
    assert "✅" not in page and "❌" not in page and "⚠" not in page


def test_phases_are_shown_against_their_targets(tmp_path: Path) -> None:
    page = write_summary(judged(tmp_path), tmp_path / "d-1")["html"].read_text()
    phases = element(parse(page), "phases")

    rows = {r.attrs["data-phase"]: r for r in phases.all("tr") if "data-phase" in r.attrs}
    assert list(rows) == [
        "assessment",
        "dns_failover",
        "scale_dr",
        "database_promotion",
        "repoint_applications",
        "service_verification",
    ]
    assert [c.text for c in rows["dns_failover"].all("td")][:3] == [
        "dns_failover",
        "500 ms",
        "450 ms",
    ]
    assert badges(phases)["dns_failover"] == ("warn", "Needs improvement")
    assert badges(phases)["scale_dr"] == ("fail", "Fail")
    assert badges(phases)["assessment"] == ("pass", "Pass")
    assert rows["scale_dr"].all("div", "bar")[0].attrs["title"] == "140% of its target"


def test_a_phase_that_failed_says_so_whatever_its_time(tmp_path: Path) -> None:
    m = measurements(phase_ok=False)
    the_summary = dataclasses.replace(drill_summary(tmp_path), measurements=m)
    phases = element(parse(render_page(the_summary.to_json(), None, summary=the_summary)), "phases")

    assert badges(phases)["database_promotion"] == ("fail", "Failed")


def test_lost_and_in_doubt_writes_are_listed_by_id_and_escaped(tmp_path: Path) -> None:
    page = write_summary(judged(tmp_path, lost=3), tmp_path / "d-1")["html"].read_text()
    root = parse(page)

    assert [li.text for li in element(root, "lost-ids").all("li")] == ["ord-0", "ord-1", "ord-2"]
    assert [li.text for li in element(root, "in-doubt-ids").all("li")] == [
        "ord-x1",
        "<script>alert(1)</script>",
        "ord-x3",
    ]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_thousands_of_lost_writes_list_the_first_and_point_at_the_ledger(tmp_path: Path) -> None:
    many = judged(tmp_path, lost=IDS_SHOWN + 50)
    root = parse(render_page(many.to_json(), None, summary=many))

    assert len(element(root, "lost-ids").all("li")) == IDS_SHOWN
    assert "… and 50 more (see ledger.json)." in root.text


def test_split_brain_writes_are_called_out(tmp_path: Path) -> None:
    the_summary = judged(tmp_path)
    m = the_summary.measurements
    m = dataclasses.replace(m, ledger=dataclasses.replace(m.ledger, lost_after_fault=4))
    the_summary = dataclasses.replace(the_summary, measurements=m, outcome="failed")
    root = parse(render_page(the_summary.to_json(), None, summary=the_summary))

    assert "4 write(s) acknowledged after the fault" in element(root, "split-brain").text
    assert "4 write(s) acknowledged after the fault lost" in element(root, "verdict").text


def test_writes_discarded_by_a_restore_are_named_without_failing_the_verdict(
    tmp_path: Path,
) -> None:
    the_summary = judged(tmp_path)
    m = the_summary.measurements
    ledger = dataclasses.replace(
        m.ledger, discarded_by_restore=2, discarded_by_restore_ids=("o-3", "o-4")
    )
    m = dataclasses.replace(m, ledger=ledger)
    the_summary = dataclasses.replace(the_summary, measurements=m, outcome="passed")
    root = parse(render_page(the_summary.to_json(), None, summary=the_summary))

    assert "2 write(s) acknowledged after the fault were" in element(root, "discarded").text
    assert [li.text for li in element(root, "discarded-ids").all("li")] == ["o-3", "o-4"]
    assert "PASSED" in element(root, "verdict").text
    assert the_summary.to_json()["discarded_by_restore"] == 2


def test_the_timeline_is_embedded_and_the_evidence_linked_nothing_fetched(tmp_path: Path) -> None:
    out, _ = report_dir(tmp_path)
    write_summary(drill_summary(tmp_path), out)  # again, now that the evidence is there
    page = (out / "summary.html").read_text()
    root = parse(page)

    src = element(root, "timeline").all("img")[0].attrs["src"]
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == (out / "timeline.png").read_bytes()
    links = {a.attrs["href"]: a.text for a in element(root, "artifacts").all("a")}
    assert list(links)[:5] == [
        "summary.md",
        "summary.json",
        "audit.jsonl",
        "journal-region-failure.json",
        "journal-dr-activation.json",
    ]
    assert {"ledger.json", "timeline.png", "locust-stats.json"} <= set(links)
    assert all((out / href).is_file() for href in links)
    assert not root.all("script") and not root.all("link")
    assert "http://" not in page and "https://" not in page and "//cdn" not in page


def test_a_drill_without_a_timeline_has_no_broken_picture(tmp_path: Path) -> None:
    root = parse(write_summary(drill_summary(tmp_path), tmp_path / "d-1")["html"].read_text())

    assert root.by_id("timeline") is None
    assert not root.all("img")


def test_findings_from_the_summary_are_shown_with_their_severity(tmp_path: Path) -> None:
    the_summary = drill_summary(tmp_path)
    record = {
        **the_summary.to_json(),
        "findings": [
            {
                "severity": "critical",
                "what": "RTO breach",
                "actual": 2000.0,
                "target": 1800.0,
                "detail": "target from mode warm_standby <b>",
            },
            {
                "severity": "warning",
                "what": "acknowledged writes lost",
                "actual": 3,
                "target": None,
                "detail": "ord-1, ord-2, ord-3",
            },
            {"severity": "info", "what": "secondary outage", "actual": "3 s", "target": None},
            "not a finding",
        ],
    }
    root = parse(render_page(record, None, summary=the_summary))

    findings = element(root, "findings")
    rows = [[c.text for c in row.all("td")] for row in findings.all("tr")[1:]]
    assert rows == [
        ["critical", "RTO breach", "33.3 min", "30 min", "target from mode warm_standby <b>"],
        ["warning", "acknowledged writes lost", "3", "—", "ord-1, ord-2, ord-3"],
        ["info", "secondary outage", "3 s", "—", ""],
    ]
    assert [b.classes for b in findings.all("span", "badge")] == [
        {"badge", "fail"},
        {"badge", "warn"},
        {"badge", "info"},
    ]
    none_found = parse(render_page({**record, "findings": []}, None, summary=the_summary))
    assert "No findings" in element(none_found, "findings").text
    older = {k: v for k, v in the_summary.to_json().items() if k != "findings"}
    plain = parse(render_page(older, None, summary=the_summary))
    assert plain.by_id("findings") is None  # a summary written before findings existed


def test_secrets_never_reach_the_page(tmp_path: Path) -> None:
    the_summary = dataclasses.replace(
        drill_summary(tmp_path),
        outcome="error",
        error="connection to postgresql://drill:hunter2@db:5432/orders refused",
        notes=("PGPASSWORD=hunter2 was set",),
    )
    page = write_summary(the_summary, tmp_path / "d-1")["html"].read_text()

    assert "hunter2" not in page
    assert "postgresql://drill:***@db:5432/orders" in page


def test_a_drill_that_ended_before_measurement_gets_a_page_too(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    report = DrillReport(reports / "d-9", reports)
    (reports / "d-9").mkdir(parents=True)
    (reports / "d-9" / "audit.jsonl").write_text("{}\n")
    report.conclude_unmeasured(
        UnmeasuredDrill(
            "d-9",
            "region_failure",
            "full",
            "lab",
            T0,
            "blackhole",
            "aborted",
            "activating",
            "stop condition: customer error rate 80% over 30 s",
        )
    )
    root = parse((reports / "d-9" / "summary.html").read_text())

    banner = element(root, "verdict")
    assert banner.attrs["data-outcome"] == "aborted"
    assert "stop condition: customer error rate 80% over 30 s" in banner.text
    assert "No RTO or RPO was measured" in element(root, "unmeasured").text
    assert root.by_id("metrics") is None
    assert [a.attrs["href"] for a in element(root, "artifacts").all("a")] == [
        "summary.md",
        "summary.json",
        "audit.jsonl",
    ]
    assert "0% of the last 10 drills passed" in root.text


def test_the_concluded_page_has_the_outcome_and_the_readiness(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    report = DrillReport(reports / "d-1", reports)
    the_summary = drill_summary(tmp_path)
    report.write(the_summary, ledger={"lost_ids": []}, samples=samples(), requests=requests())
    report.conclude(
        the_summary,
        UnmeasuredDrill("d-1", "region_failure", "full", "lab", T0, None, "passed", "done", None),
    )
    root = parse((reports / "d-1" / "summary.html").read_text())

    assert element(root, "verdict").attrs["data-outcome"] == "passed"
    assert "100% of the last 10 drills passed" in root.text
    assert root.by_id("timeline") is not None
    assert "ledger.json" in {a.attrs["href"] for a in element(root, "artifacts").all("a")}
