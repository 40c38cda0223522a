-- segment trial_ending
-- defined in segments/lifecycle/trial_ending.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."TRIAL_ENDS_AT",
    "P"."PLAN"
  FROM "MAIN"."USERS" AS "P"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'trial_ends_at', "TRIAL_ENDS_AT") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    (
      COALESCE((
        CAST("PLAN" AS VARCHAR) = 'trial'
      ), FALSE)
    )
    AND (
      COALESCE(
        (
          CAST(CONVERT_TIMEZONE('UTC', CAST("TRIAL_ENDS_AT" AS TIMESTAMPTZ)) AS TIMESTAMP) > CAST('2026-11-01 00:00:00' AS TIMESTAMP)
          AND CAST(CONVERT_TIMEZONE('UTC', CAST("TRIAL_ENDS_AT" AS TIMESTAMPTZ)) AS TIMESTAMP) <= CAST('2026-11-08 00:00:00' AS TIMESTAMP)
        ),
        FALSE
      )
    )
  );
