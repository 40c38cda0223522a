-- segment cart_recovery_experiment
-- defined in segments/commerce/cart_recovery_experiment.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for bigquery offline (no target catalog)
WITH `_sw_scan_event_256h` AS (
  SELECT
    `s`.`user_id` AS `_sw_key`,
    COUNTIF(
      `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND `s`.`event_name` IN ('add_to_cart', 'checkout_started')
      AND `s`.`occurred_at` > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    ) AS `_sw_event_count_2c21dcfb27`,
    COUNTIF(
      `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND `s`.`event_name` = 'purchase'
      AND `s`.`occurred_at` > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    ) AS `_sw_event_count_3c0074be0b`
  FROM `main`.`events` AS `s`
  WHERE
    `s`.`occurred_at` <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND `s`.`occurred_at` > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    AND `s`.`event_name` IN ('add_to_cart', 'checkout_started', 'purchase')
  GROUP BY
    `s`.`user_id`
), `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `p`.`marketing_opt_in`,
    `_sw_scan_event_256h`.`_sw_event_count_2c21dcfb27`,
    `_sw_scan_event_256h`.`_sw_event_count_3c0074be0b`
  FROM `main`.`users` AS `p`
  LEFT JOIN `_sw_scan_event_256h` AS `_sw_scan_event_256h`
    ON `p`.`user_id` = `_sw_scan_event_256h`.`_sw_key`
)
SELECT
  `user_id` AS `person_id`,
  CASE
    WHEN MOD(
      (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 1, 1)
        ) AS INT64) - 1
      ) * 268435456 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 2, 1)
        ) AS INT64) - 1
      ) * 16777216 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 3, 1)
        ) AS INT64) - 1
      ) * 1048576 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 4, 1)
        ) AS INT64) - 1
      ) * 65536 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 5, 1)
        ) AS INT64) - 1
      ) * 4096 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 6, 1)
        ) AS INT64) - 1
      ) * 256 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 7, 1)
        ) AS INT64) - 1
      ) * 16 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 8, 1)
        ) AS INT64) - 1
      ) * 1,
      100
    ) < 10
    THEN 'control'
    WHEN MOD(
      (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 1, 1)
        ) AS INT64) - 1
      ) * 268435456 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 2, 1)
        ) AS INT64) - 1
      ) * 16777216 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 3, 1)
        ) AS INT64) - 1
      ) * 1048576 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 4, 1)
        ) AS INT64) - 1
      ) * 65536 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 5, 1)
        ) AS INT64) - 1
      ) * 4096 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 6, 1)
        ) AS INT64) - 1
      ) * 256 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 7, 1)
        ) AS INT64) - 1
      ) * 16 + (
        CAST(INSTR(
          '0123456789abcdef',
          SUBSTRING(TO_HEX(MD5('cart_recovery_2026:' || CAST(`user_id` AS STRING))), 8, 1)
        ) AS INT64) - 1
      ) * 1,
      100
    ) < 100
    THEN 'treatment'
  END AS `split`,
  JSON_OBJECT('email', `email`, 'first_name', `first_name`) AS `fields`
FROM `_sw_people`
WHERE
  (
    (
      COALESCE((
        COALESCE(`_sw_event_count_2c21dcfb27`, 0) >= 1
      ), FALSE)
    )
    AND (
      COALESCE((
        COALESCE(`_sw_event_count_3c0074be0b`, 0) = 0
      ), FALSE)
    )
    AND COALESCE((
      `marketing_opt_in` AND NOT `email` IS NULL
    ), FALSE)
  );
