@full
Feature: Complete region failure (the bi-annual full DR drill)
  The primary region is lost as a whole while customers shop. The DR team
  follows the DR activation checklist, and the drill measures what customers
  lived through against the plan: RTO 30 min, RPO 5 min, each phase on time.

  Scenario Outline: The primary region fails by <mode> and the DR region takes over
    Given the platform is in its steady state
    And customers are using the platform
    When the primary region fails by <mode>
    And the DR team runs the DR activation
    Then the service is restored within the RTO of the "region_failure" scenario
    And acknowledged writes lost stay within the RPO of the "region_failure" scenario
    And every activation phase finishes within its target
    And the drill is recorded in the audit trail
    And the platform is put back to its steady state

    Examples:
      | mode      |
      | power-off |
      | blackhole |
      | partition |
