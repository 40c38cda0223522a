-- segment engaged_email_subscribers
-- defined in segments/engagement/engaged_email_subscribers.yml:1
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
), "_SW_SCAN_ACTIVITY_4096H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_ACTIVITY_COUNT_FE8CB989F6"
  FROM "MAIN"."MESSAGE_ACTIVITY" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."ACTIVITY" = 'email_opened'
    AND "S"."OCCURRED_AT" > CAST('2026-09-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."LANGUAGE",
    "P"."MARKETING_OPT_IN",
    "_SW_SCAN_ACTIVITY_ALL"."_SW_ACTIVITY_COUNT_2320AE9E03",
    "_SW_SCAN_ACTIVITY_4096H"."_SW_ACTIVITY_COUNT_FE8CB989F6"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_ACTIVITY_ALL" AS "_SW_SCAN_ACTIVITY_ALL"
    ON "P"."USER_ID" = "_SW_SCAN_ACTIVITY_ALL"."_SW_KEY"
  LEFT JOIN "_SW_SCAN_ACTIVITY_4096H" AS "_SW_SCAN_ACTIVITY_4096H"
    ON "P"."USER_ID" = "_SW_SCAN_ACTIVITY_4096H"."_SW_KEY"
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
        COALESCE("_SW_ACTIVITY_COUNT_FE8CB989F6", 0) >= 1
      ), FALSE)
    )
    AND NOT (
      (
        COALESCE((
          COALESCE("_SW_ACTIVITY_COUNT_2320AE9E03", 0) >= 1
        ), FALSE)
      )
      OR (
        NOT COALESCE((
          TRY_CAST(CAST("MARKETING_OPT_IN" AS VARCHAR) AS BOOLEAN) = TRUE
        ), FALSE)
      )
      OR (
        "EMAIL" IS NULL
      )
    )
  );
