-- segment marketable_contacts
-- defined in segments/marketing/marketable_contacts.yml:1
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
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."MARKETING_OPT_IN",
    "P"."EMAIL",
    "_SW_SCAN_ACTIVITY_ALL"."_SW_ACTIVITY_COUNT_2320AE9E03"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_ACTIVITY_ALL" AS "_SW_SCAN_ACTIVITY_ALL"
    ON "P"."USER_ID" = "_SW_SCAN_ACTIVITY_ALL"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  CAST(NULL AS VARIANT) AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    COALESCE((
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
