"""Route 53: the global name's failover (or weighted) records, and health-check status.

``fail_over`` UPSERTs both records of the global name in one change batch, like the
plan's ``failover-to-dr.json`` (docs/dr-plan.md): with failover routing the serving region's record
becomes PRIMARY (with its health check) and the other SECONDARY; with weighted
routing the serving region gets weight 100 and the other 0. Every change is waited
for until Route 53 reports it INSYNC (``waiters.dns_s``), the plan's "verify DNS
propagation". ``shift_traffic`` is the plan's gradual failback (10 %, 50 %, 100 %) on
WEIGHTED records.

Route 53 allows one routing policy per name and type, so on a profile with failover
routing the first traffic step replaces the failover records by weighted ones, and the
100 % step puts the failover records back (the returning region PRIMARY) — each time
DELETE of the old records (exactly as Route 53 lists them) and CREATE of the new in
one change batch, which Route 53 applies atomically: no moment without a record. A
dry run reads nothing: it assumes the records the activation left (DR serving) and
follows its own planned batches from there.
"""

from __future__ import annotations

from typing import Any

from drdrill.targets.aws.clients import Clients, waiter_config
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.aws.safety import Guard

__all__ = ["ROUTE53_REGION", "Dns"]

ROUTE53_REGION = "us-east-1"
"""Route 53 is global; its API lives in us-east-1."""
OTHER = {"primary": "dr", "dr": "primary"}


class Dns:
    """The global name's records in Route 53."""

    def __init__(self, profile: AwsProfile, clients: Clients, guard: Guard, name: str) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard
        self.name = name
        self._planned: dict[str, dict[str, Any]] | None = None
        """A dry run's records as its planned batches left them, by set identifier."""

    def record(
        self, region: str, *, failover: str | None = None, weight: int | None = None
    ) -> dict[str, Any]:
        """The ResourceRecordSet pointing at ``region``: as a failover role (its set
        identifier is the role's: ``set_identifiers.primary`` for PRIMARY) or a weight
        (the region's own identifier)."""
        dns = self.profile.dns
        target = dns.targets[region]  # type: ignore[index]
        owner = region if failover is None else ("primary" if failover == "PRIMARY" else "dr")
        record: dict[str, Any] = {
            "Name": dns.record_name,
            "Type": dns.record_type,
            "SetIdentifier": dns.set_identifiers[owner],  # type: ignore[index]
        }
        if failover is not None:
            record["Failover"] = failover
        if weight is not None:
            record["Weight"] = weight
        if target.health_check_id:
            record["HealthCheckId"] = target.health_check_id
        if target.alias_hosted_zone_id:
            record["AliasTarget"] = {
                "HostedZoneId": target.alias_hosted_zone_id,
                "DNSName": target.value,
                "EvaluateTargetHealth": target.evaluate_target_health,
            }
        else:
            record["TTL"] = dns.ttl
            record["ResourceRecords"] = [{"Value": target.value}]
        return record

    def fail_over(self, to_region: str) -> None:
        """Make ``to_region`` the one the global name answers with."""
        if self.profile.dns.routing == "weighted":
            self._change(
                {to_region: 100, OTHER[to_region]: 0}, f"drdrill: fail over to {to_region}"
            )
            return
        changes = [
            {"Action": "UPSERT", "ResourceRecordSet": self.record(to_region, failover="PRIMARY")},
            {
                "Action": "UPSERT",
                "ResourceRecordSet": self.record(OTHER[to_region], failover="SECONDARY"),
            },
        ]
        self._submit(changes, f"drdrill: fail over to {to_region}")

    def shift_traffic(self, to_region: str, percent: int) -> None:
        """Send ``percent`` % of traffic to ``to_region`` with weighted records; with
        failover routing, 100 % restores the failover records (``to_region`` PRIMARY)."""
        if not 0 <= percent <= 100:
            raise ValueError(f"percent must be 0..100, got {percent}")
        comment = f"drdrill: {percent}% of traffic to {to_region}"
        weights = {to_region: percent, OTHER[to_region]: 100 - percent}
        if self.profile.dns.routing == "weighted":
            self._change(weights, comment)
            return
        if percent == 100:
            wanted = [
                self.record(to_region, failover="PRIMARY"),
                self.record(OTHER[to_region], failover="SECONDARY"),
            ]
            self._replace("Weight", wanted, comment)
        else:
            wanted = [self.record(r, weight=w) for r, w in weights.items()]
            self._replace("Failover", wanted, comment)

    def current(self) -> list[dict[str, Any]]:
        """The global name's records that carry a set identifier (a dry run: the ones it
        assumes, see the module docstring)."""
        if self.guard.dry_run:
            if self._planned is None:
                self._planned = {
                    r["SetIdentifier"]: r for r in self._records_serving("dr", self.profile)
                }
            return list(self._planned.values())
        dns = self.profile.dns
        route53 = self.clients.aws("route53", ROUTE53_REGION)
        found = self.guard.read(
            "route53",
            "list_resource_record_sets",
            "global",
            f"{dns.hosted_zone_id}/{dns.record_name}",
            lambda: route53.list_resource_record_sets(
                HostedZoneId=dns.hosted_zone_id,
                StartRecordName=dns.record_name,
                StartRecordType=dns.record_type,
                MaxItems="20",
            ),
        )
        name = dns.record_name.rstrip(".").lower()
        return [
            r
            for r in found.get("ResourceRecordSets", [])
            if r["Name"].rstrip(".").lower() == name
            and r["Type"] == dns.record_type
            and "SetIdentifier" in r
        ]

    def _records_serving(self, region: str, profile: AwsProfile) -> list[dict[str, Any]]:
        if profile.dns.routing == "weighted":
            return [self.record(region, weight=100), self.record(OTHER[region], weight=0)]
        return [
            self.record(region, failover="PRIMARY"),
            self.record(OTHER[region], failover="SECONDARY"),
        ]

    def _replace(self, old_kind: str, wanted: list[dict[str, Any]], comment: str) -> None:
        """One batch: DELETE the records routed by ``old_kind`` (Failover or Weight), then
        CREATE ``wanted`` in their place (UPSERT where nothing had to go)."""
        old = [r for r in self.current() if old_kind in r]
        changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in old]
        action = "CREATE" if old else "UPSERT"
        changes += [{"Action": action, "ResourceRecordSet": r} for r in wanted]
        self._submit(changes, comment)

    def _change(self, weights: dict[str, int], comment: str) -> None:
        changes = [
            {"Action": "UPSERT", "ResourceRecordSet": self.record(region, weight=weight)}
            for region, weight in weights.items()
        ]
        self._submit(changes, comment)

    def _submit(self, changes: list[dict[str, Any]], comment: str) -> None:
        zone = self.profile.dns.hosted_zone_id
        batch = {"Comment": comment, "Changes": changes}
        route53 = self.clients.aws("route53", ROUTE53_REGION)
        if self.guard.dry_run:
            planned = {r["SetIdentifier"]: r for r in self.current()}
            for item in changes:
                record = item["ResourceRecordSet"]
                if item["Action"] == "DELETE":
                    planned.pop(record["SetIdentifier"], None)
                else:
                    planned[record["SetIdentifier"]] = record
            self._planned = planned
        changed = self.guard.call(
            route53,
            "change_resource_record_sets",
            "global",
            f"{zone}/{self.profile.dns.record_name}",
            HostedZoneId=zone,
            ChangeBatch=batch,
        )
        if changed is None:  # dry-run
            return
        change = str(changed["ChangeInfo"]["Id"])
        waiters = self.profile.waiters
        self.guard.read(
            "route53",
            "wait resource_record_sets_changed",
            "global",
            change,
            lambda: route53.get_waiter("resource_record_sets_changed").wait(
                Id=change, WaiterConfig=waiter_config(waiters.dns_s, waiters.poll_s)
            ),
        )
