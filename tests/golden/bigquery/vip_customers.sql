-- segment vip_customers (segments/commerce/vip_customers.yml:1), as_of 2026-11-01T00:00:00, compiled by segwarehouse for bigquery
-- static segments read temporary tables _sw_static_<segment> loaded from their CSV
WITH `_sw_people` AS (
  SELECT
    `p`.*
  FROM `main`.`users` AS `p`
)
SELECT
  `user_id` AS `person_id`,
  CAST(NULL AS STRING) AS `split`,
  JSON_OBJECT('email', `email`, 'first_name', `first_name`, 'plan', `plan`, 'country', `country`) AS `fields`
FROM `_sw_people`
WHERE
  COALESCE(
    (
      CAST(`email` AS STRING) IN (
        SELECT
          `value`
        FROM `_sw_static_vip_customers`
      )
    ),
    FALSE
  );
