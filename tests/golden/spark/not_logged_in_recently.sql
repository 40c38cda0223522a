-- segment not_logged_in_recently
-- defined in segments/engagement/not_logged_in_recently.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for spark offline (no target catalog)
WITH `_sw_people` AS (
  SELECT
    `p`.`user_id`,
    `p`.`email`,
    `p`.`first_name`,
    `p`.`last_login_at`
  FROM `main`.`users` AS `p`
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
    (
      COALESCE(
        (
          TRY_CAST(TRY_CAST(`last_login_at` AS TIMESTAMP) AS TIMESTAMP) <= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        ),
        FALSE
      )
    )
    OR (
      `last_login_at` IS NULL
    )
  );
