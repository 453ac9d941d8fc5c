@full
Feature: Complete region failure (the bi-annual full DR drill)
  The primary region is lost as a whole while customers shop. The DR team
  follows the DR activation checklist, and the drill measures what customers
  lived through against the plan: RTO 30 min, RPO 5 min, each phase on time.
  Then the team fails back as planned (the return trip on the same timeline): the
  primary region comes back, its database is rebuilt from DR, traffic returns in
  steps and the database switches over with no acknowledged write lost.

  Scenario Outline: The primary region fails by <mode> and the DR region takes over
    Given the platform is in its steady state
    And customers are using the platform
    When the primary region fails by <mode>
    And the DR team runs the DR activation
    And the DR region serves customers again
    And the primary region is restored
    And the DR team runs the planned failback
    Then the service is restored within the RTO of the "region_failure" scenario
    And acknowledged writes lost stay within the RPO of the "region_failure" scenario
    And every activation phase finishes within its target
    And the data was found consistent before any traffic moved
    And no acknowledged write is lost by the failback
    And the switchover's customer-visible outage stays within its target
    And every failback phase finishes within its target
    And the platform is back in its original topology
    And the drill is recorded in the audit trail
    And the platform is put back to its steady state

    Examples:
      | mode      |
      | power-off |
      | blackhole |
      | partition |
