-- segment b2b_buyers
-- defined in segments/commerce/b2b_buyers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_EVENT_16384H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_EVENT_COUNT_6A75FC6C7D"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" = 'purchase'
    AND "S"."OCCURRED_AT" > CAST('2026-05-05 00:00:00' AS TIMESTAMP)
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."PLAN",
    "P"."COUNTRY",
    "_SW_SCAN_EVENT_16384H"."_SW_EVENT_COUNT_6A75FC6C7D"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_EVENT_16384H" AS "_SW_SCAN_EVENT_16384H"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_16384H"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'plan', "PLAN", 'country', "COUNTRY") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    COALESCE(
      (
        LOWER(SPLIT_PART("EMAIL", '@', 2)) <> ''
        AND NOT LOWER(SPLIT_PART("EMAIL", '@', 2)) IN (
          'gmail.com',
          'googlemail.com',
          'yahoo.com',
          'outlook.com',
          'hotmail.com',
          'icloud.com'
        )
      ),
      FALSE
    )
    AND (
      COALESCE((
        COALESCE("_SW_EVENT_COUNT_6A75FC6C7D", 0) >= 1
      ), FALSE)
    )
    AND (
      NOT COALESCE((
        CAST("PLAN" AS VARCHAR) = 'business'
      ), FALSE)
    )
  );
