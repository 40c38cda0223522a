-- segment winter_browsers
-- defined in segments/commerce/winter_browsers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_PAGE_VIEW_1024H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_PAGE_VIEW_COUNT_DBE8E8A159"
  FROM "MAIN"."PAGE_VIEWS" AS "S"
  WHERE
    "S"."VIEWED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."URL" LIKE '%/winter/%' ESCAPE '!'
    AND "S"."VIEWED_AT" > CAST('2026-10-18 00:00:00' AS TIMESTAMP)
  GROUP BY
    "S"."USER_ID"
), "_SW_SCAN_EVENT_1024H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_EVENT_COUNT_D8F44E6598"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" = 'purchase'
    AND COALESCE(
      (
        JSON_EXTRACT_PATH_TEXT("S"."PROPERTIES", 'category') IN ('coats', 'boots')
      ),
      FALSE
    )
    AND "S"."OCCURRED_AT" > CAST('2026-10-18 00:00:00' AS TIMESTAMP)
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."COUNTRY",
    "_SW_SCAN_PAGE_VIEW_1024H"."_SW_PAGE_VIEW_COUNT_DBE8E8A159",
    "_SW_SCAN_EVENT_1024H"."_SW_EVENT_COUNT_D8F44E6598"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_PAGE_VIEW_1024H" AS "_SW_SCAN_PAGE_VIEW_1024H"
    ON "P"."USER_ID" = "_SW_SCAN_PAGE_VIEW_1024H"."_SW_KEY"
  LEFT JOIN "_SW_SCAN_EVENT_1024H" AS "_SW_SCAN_EVENT_1024H"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_1024H"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'country', "COUNTRY") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    (
      COALESCE((
        COALESCE("_SW_PAGE_VIEW_COUNT_DBE8E8A159", 0) >= 3
      ), FALSE)
    )
    AND (
      COALESCE((
        COALESCE("_SW_EVENT_COUNT_D8F44E6598", 0) = 0
      ), FALSE)
    )
  );
