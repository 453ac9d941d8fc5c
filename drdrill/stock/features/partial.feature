@partial
Feature: Partial DR test (quarterly, one phase at a time)
  Each phase of the DR activation runs on its own against a healthy platform
  and is timed against its target from the plan's Test Metrics table.

  Scenario: DNS failover alone
    Given the platform is in its steady state
    When the DNS records fail over to the DR region
    Then the global endpoint answers from the DR region
    And the "dns_failover" phase finishes within its target
    And the platform is put back to its steady state

  Scenario: Database promotion alone
    Given the platform is in its steady state
    When the DR database is promoted
    Then the DR database accepts writes
    And the "database_promotion" phase finishes within its target
    And the platform is put back to its steady state

  Scenario: Service verification of the DR region
    Given the platform is in its steady state
    When the DR region's services are verified
    Then its health and critical flows pass
    And the "service_verification" phase finishes within its target
    And the platform is put back to its steady state
