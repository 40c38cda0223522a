-- segment big_spenders
-- defined in segments/commerce/big_spenders.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for databricks offline (no target catalog)
WITH `_sw_scan_event_4096h` AS (
  SELECT
    `s`.`user_id` AS `_sw_key`,
    SUM(TRY_CAST(GET_JSON_OBJECT(`s`.`properties`, '$.amount') AS DECIMAL(38, 9))) AS `_sw_event_sum_6fad8a870d`,
    AVG(TRY_CAST(GET_JSON_OBJECT(`s`.`properties`, '$.amount') AS DECIMAL(38, 9))) AS `_sw_event_avg_4da96560f9`
  FROM `main`.`events` AS `s`
  WHERE
    `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND `s`.`event_name` = 'purchase'
    AND `s`.`occurred_at` > CAST('2026-08-03 00:00:00' AS TIMESTAMP)
  GROUP BY
    `s`.`user_id`
), `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `p`.`plan`,
    `p`.`country`,
    `_sw_scan_event_4096h`.`_sw_event_sum_6fad8a870d`,
    `_sw_scan_event_4096h`.`_sw_event_avg_4da96560f9`
  FROM `main`.`users` AS `p`
  LEFT JOIN `_sw_scan_event_4096h` AS `_sw_scan_event_4096h`
    ON `p`.`user_id` = `_sw_scan_event_4096h`.`_sw_key`
)
SELECT
  `user_id` AS `person_id`,
  CAST(NULL AS STRING) AS `split`,
  TO_JSON(
    NAMED_STRUCT('email', `email`, 'first_name', `first_name`, 'plan', `plan`, 'country', `country`),
    MAP('ignoreNullFields', 'false')
  ) AS `fields`
FROM `_sw_people`
WHERE
  (
    COALESCE((
      COALESCE(`_sw_event_sum_6fad8a870d`, 0) >= 500
    ), FALSE)
    AND COALESCE((
      `_sw_event_avg_4da96560f9` >= 50
    ), FALSE)
  );
