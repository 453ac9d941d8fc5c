"""Drill reports.

- ``metrics_table``: the plan's "Test Metrics" table (Metric | Target | This drill | Status),
  markdown and HTML, from ``Verdicts``;
- ``timeline_chart``: the timeline picture (PNG): probes, load error rate, phase bars,
  t_fault, t_restored (``chart`` re-exports it for older imports);
- ``trend_chart``: RTO and RPO per measured drill of the history, with the targets (PNG);
- ``summary``: ``reports/<drill-id>/summary.{json,md}`` (``summary_markdown``: the md);
- ``history``: ``reports/history.jsonl``, the readiness score and trend;
- ``page``: summary.html, the drill as a page (Jinja2 template ``templates/summary.html.j2``);
- ``allure``: attachments inside allure-pytest-bdd steps, ``environment.properties``,
  ``categories.json``;
- ``allure_cli``: find the Allure 2 command line and build the HTML report.
"""

__all__: list[str] = []
