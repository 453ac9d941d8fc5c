"""The stock Gherkin drills (features/, a link to the package's drdrill/stock/features)
bound the way any project binds its own: the drdrill pytest plugin brings the steps."""

from pytest_bdd import scenarios

scenarios("region_failure.feature", "partial.feature", "backup_restore.feature", "failback.feature")
