-- segment course_graduates_london_berlin
-- defined in segments/courses/course_graduates_london_berlin.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_EVENT_ALL" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_EVENT_COUNT_117DA6512E"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" = 'course_completed'
    AND COALESCE(
      (
        JSON_EXTRACT_PATH_TEXT("S"."PROPERTIES", 'course') IN ('sql-basics', 'python-101', 'data-viz')
      ),
      FALSE
    )
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."CITY",
    "_SW_SCAN_EVENT_ALL"."_SW_EVENT_COUNT_117DA6512E"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_EVENT_ALL" AS "_SW_SCAN_EVENT_ALL"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_ALL"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'city', "CITY") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    (
      COALESCE((
        COALESCE("_SW_EVENT_COUNT_117DA6512E", 0) >= 1
      ), FALSE)
    )
    AND (
      COALESCE((
        CAST("CITY" AS VARCHAR) IN ('London', 'Berlin')
      ), FALSE)
    )
  );
