-- segment not_logged_in_recently
-- defined in segments/engagement/not_logged_in_recently.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."LAST_LOGIN_AT"
  FROM "MAIN"."USERS" AS "P"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    (
      COALESCE(
        (
          CAST(CONVERT_TIMEZONE('UTC', CAST("LAST_LOGIN_AT" AS TIMESTAMPTZ)) AS TIMESTAMP) <= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        ),
        FALSE
      )
    )
    OR (
      "LAST_LOGIN_AT" IS NULL
    )
  );
