@backup_restore
Feature: Backup restoration (monthly), data corruption and ransomware
  The plan's monthly backup restoration, and its data-corruption (RTO 1 h, RPO 15 min)
  and ransomware (RTO 2 h, RPO 1 h) scenarios. Every restore is verified by data:
  the count and checksum of the orders recorded before the disaster.

  Scenario: Verify backup integrity before a drill
    Given the platform is in its steady state
    And 20 orders have been placed
    And a snapshot "nightly" is taken and the order census recorded
    When the latest snapshot is restored into the scratch instance "integrity-check"
    Then the restored database matches the census recorded at backup time

  Scenario: Restore the database to a point in time and verify integrity
    Given the platform is in its steady state
    And 20 orders have been placed
    And the order census is recorded at a point in time
    And 15 orders have been placed
    When the database is restored to that point in time into "pitr-restore"
    Then the restored database matches the census recorded at that point
    And the restore finishes within the RTO of the "data_corruption" scenario

  Scenario: Restore from the latest snapshot and from its cross-region copy
    Given the platform is in its steady state
    And 20 orders have been placed
    And a snapshot "pre-change" is taken and the order census recorded
    And the snapshot "pre-change" is copied to the DR region
    When the snapshot "pre-change" is restored from the primary region into "from-primary"
    And the snapshot "pre-change" is restored from the dr region into "from-dr"
    Then every restored database matches the census recorded at backup time

  Scenario: Data corruption is repaired by point-in-time recovery
    Given the platform is in its steady state
    And customers are using the platform
    When a bad change deletes and rewrites orders
    And the corruption is detected by the order census
    And the database is restored to just before the bad change and the applications use it
    Then the service is restored within the RTO of the "data_corruption" scenario
    And acknowledged writes lost stay within the RPO of the "data_corruption" scenario

  Scenario: Ransomware destroys the primary database and its local backups
    Given the platform is in its steady state
    And a snapshot "nightly" is taken and the order census recorded
    And the snapshot "nightly" is copied to the DR region
    And customers are using the platform
    When ransomware destroys the primary database and its local backups
    And the isolated cross-region copy "nightly" is restored and the DR region serves from it
    Then the service is restored within the RTO of the "ransomware" scenario
    And acknowledged writes lost stay within the RPO of the "ransomware" scenario

  Scenario: Order documents are recovered from earlier versions and from the DR bucket
    Given the platform is in its steady state
    And 10 order documents are stored and replicated to the DR region
    When a bad deploy overwrites 5 order documents and deletes 5
    Then every overwritten document is restored from its earlier version
    And every deleted document is restored from the DR bucket's copy
    And every order document reads as it was recorded

  Scenario: Order documents not yet replicated when the primary region fails are counted
    Given the platform is in its steady state
    And 10 order documents are stored and replicated to the DR region
    When 5 more order documents are stored and the primary region fails at once
    Then the DR bucket holds every document replicated before the failure
    And the documents lost to the DR region are counted and stay within the RPO of the "region_failure" scenario
