-- segment category_explorers
-- defined in segments/commerce/category_explorers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for spark offline (no target catalog)
WITH `_sw_scan_event_4096h` AS (
  SELECT
    `s`.`user_id` AS `_sw_key`,
    COUNT(DISTINCT GET_JSON_OBJECT(`s`.`properties`, '$.category')) AS `_sw_event_distinct_59a5ae12e2`
  FROM `main`.`events` AS `s`
  WHERE
    `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND `s`.`event_name` = 'add_to_cart'
    AND `s`.`occurred_at` > CAST('2026-08-03 00:00:00' AS TIMESTAMP)
  GROUP BY
    `s`.`user_id`
), `_sw_most_frequent_event_1e2431e6f1` AS (
  SELECT
    `_sw_key`,
    `_sw_value` AS `_sw_event_most_frequent_1e2431e6f1`,
    `_sw_rows` AS `_sw_event_most_frequent_1e2431e6f1_rows`
  FROM (
    SELECT
      `_sw_key`,
      `_sw_value`,
      `_sw_rows`,
      ROW_NUMBER() OVER (PARTITION BY `_sw_key` ORDER BY `_sw_rows` DESC, `_sw_value` NULLS LAST) AS `_sw_rank`
    FROM (
      SELECT
        `_sw_key`,
        `_sw_value`,
        COUNT(*) AS `_sw_rows`
      FROM (
        SELECT
          `s`.`user_id` AS `_sw_key`,
          GET_JSON_OBJECT(`s`.`properties`, '$.category') AS `_sw_value`
        FROM `main`.`events` AS `s`
        WHERE
          `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
          AND `s`.`event_name` = 'add_to_cart'
          AND `s`.`occurred_at` > CAST('2026-08-03 00:00:00' AS TIMESTAMP)
      ) AS `_sw_values`
      WHERE
        NOT `_sw_value` IS NULL
      GROUP BY
        `_sw_key`,
        `_sw_value`
    ) AS `_sw_counts`
  ) AS `_sw_ranked`
  WHERE
    `_sw_rank` = 1
), `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `_sw_scan_event_4096h`.`_sw_event_distinct_59a5ae12e2`,
    `_sw_most_frequent_event_1e2431e6f1`.`_sw_event_most_frequent_1e2431e6f1`,
    `_sw_most_frequent_event_1e2431e6f1`.`_sw_event_most_frequent_1e2431e6f1_rows`
  FROM `main`.`users` AS `p`
  LEFT JOIN `_sw_scan_event_4096h` AS `_sw_scan_event_4096h`
    ON `p`.`user_id` = `_sw_scan_event_4096h`.`_sw_key`
  LEFT JOIN `_sw_most_frequent_event_1e2431e6f1` AS `_sw_most_frequent_event_1e2431e6f1`
    ON `p`.`user_id` = `_sw_most_frequent_event_1e2431e6f1`.`_sw_key`
)
SELECT
  `user_id` AS `person_id`,
  CAST(NULL AS STRING) AS `split`,
  TO_JSON(
    NAMED_STRUCT('email', `email`, 'first_name', `first_name`),
    MAP('ignoreNullFields', 'false')
  ) AS `fields`
FROM `_sw_people`
WHERE
  (
    COALESCE((
      COALESCE(`_sw_event_distinct_59a5ae12e2`, 0) >= 3
    ), FALSE)
    AND COALESCE((
      `_sw_event_most_frequent_1e2431e6f1` = 'coats'
    ), FALSE)
  );
