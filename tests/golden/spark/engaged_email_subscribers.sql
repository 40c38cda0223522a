-- segment engaged_email_subscribers
-- defined in segments/engagement/engaged_email_subscribers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for spark offline (no target catalog)
WITH `_sw_scan_activity_all` AS (
  SELECT
    `s`.`user_id` AS `_sw_key`,
    COUNT(*) AS `_sw_activity_count_2320ae9e03`
  FROM `main`.`message_activity` AS `s`
  WHERE
    `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND `s`.`activity` = 'unsubscribed'
  GROUP BY
    `s`.`user_id`
), `_sw_scan_activity_4096h` AS (
  SELECT
    `s`.`user_id` AS `_sw_key`,
    COUNT(*) AS `_sw_activity_count_fe8cb989f6`
  FROM `main`.`message_activity` AS `s`
  WHERE
    `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND `s`.`activity` = 'email_opened'
    AND `s`.`occurred_at` > CAST('2026-09-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    `s`.`user_id`
), `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `p`.`language`,
    `p`.`marketing_opt_in`,
    `_sw_scan_activity_all`.`_sw_activity_count_2320ae9e03`,
    `_sw_scan_activity_4096h`.`_sw_activity_count_fe8cb989f6`
  FROM `main`.`users` AS `p`
  LEFT JOIN `_sw_scan_activity_all` AS `_sw_scan_activity_all`
    ON `p`.`user_id` = `_sw_scan_activity_all`.`_sw_key`
  LEFT JOIN `_sw_scan_activity_4096h` AS `_sw_scan_activity_4096h`
    ON `p`.`user_id` = `_sw_scan_activity_4096h`.`_sw_key`
)
SELECT
  `user_id` AS `person_id`,
  CAST(NULL AS STRING) AS `split`,
  TO_JSON(
    NAMED_STRUCT('email', `email`, 'first_name', `first_name`, 'language', `language`),
    MAP('ignoreNullFields', 'false')
  ) AS `fields`
FROM `_sw_people`
WHERE
  (
    (
      COALESCE((
        COALESCE(`_sw_activity_count_fe8cb989f6`, 0) >= 1
      ), FALSE)
    )
    AND NOT (
      (
        COALESCE((
          COALESCE(`_sw_activity_count_2320ae9e03`, 0) >= 1
        ), FALSE)
      )
      OR (
        NOT COALESCE((
          TRY_CAST(`marketing_opt_in` AS BOOLEAN) = TRUE
        ), FALSE)
      )
      OR (
        `email` IS NULL
      )
    )
  );
