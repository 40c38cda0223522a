-- segment first_time_buyers
-- defined in segments/lifecycle/first_time_buyers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_EVENT_ALL" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    MIN("S"."OCCURRED_AT") AS "_SW_EVENT_FIRST_D359A60061"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" = 'purchase'
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "_SW_SCAN_EVENT_ALL"."_SW_EVENT_FIRST_D359A60061"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_EVENT_ALL" AS "_SW_SCAN_EVENT_ALL"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_ALL"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    COALESCE(
      (
        "_SW_EVENT_FIRST_D359A60061" > CAST('2026-10-18 00:00:00' AS TIMESTAMP)
        AND "_SW_EVENT_FIRST_D359A60061" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
  );
