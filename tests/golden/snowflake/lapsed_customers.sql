-- segment lapsed_customers
-- defined in segments/lifecycle/lapsed_customers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_EVENT_ALL" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    MAX("S"."OCCURRED_AT") AS "_SW_EVENT_LAST_9E3D2FC294"
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
    "P"."LIFETIME_VALUE",
    "_SW_SCAN_EVENT_ALL"."_SW_EVENT_LAST_9E3D2FC294"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_EVENT_ALL" AS "_SW_SCAN_EVENT_ALL"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_ALL"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'lifetime_value', "LIFETIME_VALUE") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    COALESCE(
      (
        "_SW_EVENT_LAST_9E3D2FC294" <= CAST('2026-08-03 00:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
  );
