-- segment b2b_buyers
-- defined in segments/commerce/b2b_buyers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for spark offline (no target catalog)
WITH `_sw_scan_event_16384h` AS (
  SELECT
    `s`.`user_id` AS `_sw_key`,
    COUNT(*) AS `_sw_event_count_6a75fc6c7d`
  FROM `main`.`events` AS `s`
  WHERE
    `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND `s`.`event_name` = 'purchase'
    AND `s`.`occurred_at` > CAST('2026-05-05 00:00:00' AS TIMESTAMP)
  GROUP BY
    `s`.`user_id`
), `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `p`.`plan`,
    `p`.`country`,
    `_sw_scan_event_16384h`.`_sw_event_count_6a75fc6c7d`
  FROM `main`.`users` AS `p`
  LEFT JOIN `_sw_scan_event_16384h` AS `_sw_scan_event_16384h`
    ON `p`.`user_id` = `_sw_scan_event_16384h`.`_sw_key`
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
    COALESCE(
      (
        LOWER(SPLIT_PART(`email`, '@', 2)) <> ''
        AND NOT LOWER(SPLIT_PART(`email`, '@', 2)) IN (
          'gmail.com',
          'googlemail.com',
          'yahoo.com',
          'outlook.com',
          'hotmail.com',
          'icloud.com'
        )
      ),
      FALSE
    )
    AND (
      COALESCE((
        COALESCE(`_sw_event_count_6a75fc6c7d`, 0) >= 1
      ), FALSE)
    )
    AND (
      NOT COALESCE((
        CAST(`plan` AS STRING) = 'business'
      ), FALSE)
    )
  );
