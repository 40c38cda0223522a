-- segment stalled_learners
-- defined in segments/courses/stalled_learners.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_ACTIVITY_ALL" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_ACTIVITY_COUNT_2320AE9E03"
  FROM "MAIN"."MESSAGE_ACTIVITY" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."ACTIVITY" = 'unsubscribed'
  GROUP BY
    "S"."USER_ID"
), "_SW_SCAN_EVENT_1024H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."EVENT_NAME" = 'course_started'
      AND "S"."OCCURRED_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    ) AS "_SW_EVENT_COUNT_3F8D158FED",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."EVENT_NAME" = 'course_completed'
      AND "S"."OCCURRED_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    ) AS "_SW_EVENT_COUNT_EA4143213D"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."OCCURRED_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" IN ('course_completed', 'course_started')
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."MARKETING_OPT_IN",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."LANGUAGE",
    "_SW_SCAN_ACTIVITY_ALL"."_SW_ACTIVITY_COUNT_2320AE9E03",
    "_SW_SCAN_EVENT_1024H"."_SW_EVENT_COUNT_3F8D158FED",
    "_SW_SCAN_EVENT_1024H"."_SW_EVENT_COUNT_EA4143213D"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_ACTIVITY_ALL" AS "_SW_SCAN_ACTIVITY_ALL"
    ON "P"."USER_ID" = "_SW_SCAN_ACTIVITY_ALL"."_SW_KEY"
  LEFT JOIN "_SW_SCAN_EVENT_1024H" AS "_SW_SCAN_EVENT_1024H"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_1024H"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'language', "LANGUAGE") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    (
      COALESCE((
        COALESCE("_SW_EVENT_COUNT_3F8D158FED", 0) >= 1
      ), FALSE)
    )
    AND NOT (
      (
        COALESCE((
          COALESCE("_SW_EVENT_COUNT_EA4143213D", 0) >= 1
        ), FALSE)
      )
    )
    AND COALESCE((
      "MARKETING_OPT_IN" AND NOT "EMAIL" IS NULL
    ), FALSE)
    AND NOT (
      (
        COALESCE((
          COALESCE("_SW_ACTIVITY_COUNT_2320AE9E03", 0) >= 1
        ), FALSE)
      )
    )
  );
