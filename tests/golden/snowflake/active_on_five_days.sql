-- segment active_on_five_days
-- defined in segments/engagement/active_on_five_days.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_EVENT_1024H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(DISTINCT CAST("S"."OCCURRED_AT" AS DATE)) AS "_SW_EVENT_DISTINCT_DAYS_5EE34C4CC6"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" IN ('login', 'app_open')
    AND "S"."OCCURRED_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "_SW_SCAN_EVENT_1024H"."_SW_EVENT_DISTINCT_DAYS_5EE34C4CC6"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_EVENT_1024H" AS "_SW_SCAN_EVENT_1024H"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_1024H"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    COALESCE((
      COALESCE("_SW_EVENT_DISTINCT_DAYS_5EE34C4CC6", 0) >= 5
    ), FALSE)
  );
