-- segment lapsed_customers
-- defined in segments/lifecycle/lapsed_customers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for bigquery offline (no target catalog)
WITH `_sw_scan_event_all` AS (
  SELECT
    `s`.`user_id` AS `_sw_key`,
    MAX(`s`.`occurred_at`) AS `_sw_event_last_9e3d2fc294`
  FROM `main`.`events` AS `s`
  WHERE
    `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND `s`.`event_name` = 'purchase'
  GROUP BY
    `s`.`user_id`
), `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `p`.`lifetime_value`,
    `_sw_scan_event_all`.`_sw_event_last_9e3d2fc294`
  FROM `main`.`users` AS `p`
  LEFT JOIN `_sw_scan_event_all` AS `_sw_scan_event_all`
    ON `p`.`user_id` = `_sw_scan_event_all`.`_sw_key`
)
SELECT
  `user_id` AS `person_id`,
  CAST(NULL AS STRING) AS `split`,
  JSON_OBJECT('email', `email`, 'first_name', `first_name`, 'lifetime_value', `lifetime_value`) AS `fields`
FROM `_sw_people`
WHERE
  (
    COALESCE(
      (
        `_sw_event_last_9e3d2fc294` <= CAST('2026-08-03 00:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
  );
