"""Projects the tests write: a drdrill.yaml with the lab (on ports no one else uses) and
an AWS profile that is never reached (no test here talks to AWS through it)."""

from __future__ import annotations

from pathlib import Path

from tests.ports import port_block

__all__ = ["aws_project"]

REGION = (
    "{{name: {name}, endpoint: https://{r}.example.com, eks_cluster: c-{r}, nodegroup: n-{r}, "
    "kube_context: {r}, rds_instance: db-{r}, scaling: {{min_size: 1, max_size: 3, "
    'desired_size: 1}}, database_url: "postgresql://app:hunter2@db-{r}/shop"}}'
)


def aws_project(tmp_path: Path, profile: str) -> Path:
    """``tmp_path/drdrill.yaml``: reports in ``tmp_path``, the lab, and the AWS profile
    ``profile`` (two regions, allow-listed account 123456789012)."""
    path = tmp_path / "drdrill.yaml"
    path.write_text(
        f"reports_dir: {tmp_path / 'reports'}\n"
        f"lab: {{base_port: {port_block()}, state_dir: {tmp_path / 'lab'}}}\n"
        "targets:\n"
        f"  {profile}:\n"
        "    kind: aws\n"
        '    allowed_account_ids: ["123456789012"]\n'
        "    global_endpoint: https://shop.example.com\n"
        "    dns: {hosted_zone_id: Z1, record_name: shop.example.com, targets: "
        "{primary: {value: primary.example.com}, dr: {value: dr.example.com}}}\n"
        "    regions:\n"
        f"      primary: {REGION.format(name='us-east-1', r='primary')}\n"
        f"      dr: {REGION.format(name='us-west-2', r='dr')}\n"
    )
    return path
