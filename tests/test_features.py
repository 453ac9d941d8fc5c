"""The Gherkin drills (features/*.feature) bound to their step definitions in steps/."""

from pytest_bdd import scenarios

scenarios("region_failure.feature", "partial.feature", "backup_restore.feature")
