-- segment active_users
-- defined in segments/engagement/active_users.yml:1
-- as_of 2026-11-01T00:00:00
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_ACTIVITY_1024H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."ACTIVITY" = 'email_opened'
      AND "S"."OCCURRED_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    ) AS "_SW_ACTIVITY_COUNT_3FBDC28975",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."ACTIVITY" = 'email_clicked'
      AND "S"."OCCURRED_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    ) AS "_SW_ACTIVITY_COUNT_447F824B55"
  FROM "MAIN"."MESSAGE_ACTIVITY" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."OCCURRED_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    AND "S"."ACTIVITY" IN ('email_clicked', 'email_opened')
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."PLAN",
    "_SW_SCAN_ACTIVITY_1024H"."_SW_ACTIVITY_COUNT_3FBDC28975",
    "_SW_SCAN_ACTIVITY_1024H"."_SW_ACTIVITY_COUNT_447F824B55"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_ACTIVITY_1024H" AS "_SW_SCAN_ACTIVITY_1024H"
    ON "P"."USER_ID" = "_SW_SCAN_ACTIVITY_1024H"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'plan', "PLAN") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    (
      COALESCE((
        COALESCE("_SW_ACTIVITY_COUNT_3FBDC28975", 0) >= 1
      ), FALSE)
    )
    AND (
      COALESCE((
        COALESCE("_SW_ACTIVITY_COUNT_447F824B55", 0) >= 1
      ), FALSE)
    )
  );
