@failback
Feature: Planned failback after a region failure (the return trip of the DR drill)
  The primary region failed and the DR region took over. Once the primary region is
  back, the DR team follows the plan's Failback Procedures while customers shop:
  prepare the primary region (its database rebuilt from DR), verify it (data
  consistency with every acknowledged write on both databases), shift traffic back in
  steps, switch the database over (planned: nothing lost), scale DR down to warm standby
  and validate it for the next activation.

  Scenario: After a power-off of the primary region, the DR team fails back under load
    Given the platform is in its steady state
    And customers are using the platform
    When the primary region fails by power-off
    And the DR team runs the DR activation
    And the DR region serves customers again
    And the primary region is restored
    And the DR team runs the planned failback
    Then the data was found consistent before any traffic moved
    And no acknowledged write is lost by the failback
    And the switchover's customer-visible outage stays within its target
    And the error rate at each traffic step stays within its target
    And every failback phase finishes within its target
    And the platform is back in its original topology
    And the drill is recorded in the audit trail
    And the platform is put back to its steady state
