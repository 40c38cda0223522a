-- segment new_users
-- defined in segments/lifecycle/new_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for databricks offline (no target catalog)
WITH `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `p`.`plan`,
    `p`.`language`,
    `p`.`signup_at`
  FROM `main`.`users` AS `p`
)
SELECT
  `user_id` AS `person_id`,
  CAST(NULL AS STRING) AS `split`,
  TO_JSON(
    NAMED_STRUCT('email', `email`, 'first_name', `first_name`, 'plan', `plan`, 'language', `language`),
    MAP('ignoreNullFields', 'false')
  ) AS `fields`
FROM `_sw_people`
WHERE
  (
    COALESCE(
      (
        TRY_CAST(TRY_CAST(`signup_at` AS TIMESTAMP) AS TIMESTAMP) > CAST('2026-10-25 00:00:00' AS TIMESTAMP)
        AND TRY_CAST(TRY_CAST(`signup_at` AS TIMESTAMP) AS TIMESTAMP) <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
  );
