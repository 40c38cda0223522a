-- segment winback_targets
-- defined in segments/lifecycle/winback_targets.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_EVENT_256H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."EVENT_NAME" IN ('add_to_cart', 'checkout_started')
      AND "S"."OCCURRED_AT" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    ) AS "_SW_EVENT_COUNT_2C21DCFB27",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."EVENT_NAME" = 'purchase'
      AND "S"."OCCURRED_AT" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    ) AS "_SW_EVENT_COUNT_3C0074BE0B"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."OCCURRED_AT" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" IN ('add_to_cart', 'checkout_started', 'purchase')
  GROUP BY
    "S"."USER_ID"
), "_SW_SCAN_ACTIVITY_ALL" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_ACTIVITY_COUNT_2320AE9E03"
  FROM "MAIN"."MESSAGE_ACTIVITY" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."ACTIVITY" = 'unsubscribed'
  GROUP BY
    "S"."USER_ID"
), "_SW_SCAN_EVENT_ALL" AS (
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
    "P"."MARKETING_OPT_IN",
    "_SW_SCAN_EVENT_256H"."_SW_EVENT_COUNT_2C21DCFB27",
    "_SW_SCAN_EVENT_256H"."_SW_EVENT_COUNT_3C0074BE0B",
    "_SW_SCAN_ACTIVITY_ALL"."_SW_ACTIVITY_COUNT_2320AE9E03",
    "_SW_SCAN_EVENT_ALL"."_SW_EVENT_LAST_9E3D2FC294"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_EVENT_256H" AS "_SW_SCAN_EVENT_256H"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_256H"."_SW_KEY"
  LEFT JOIN "_SW_SCAN_ACTIVITY_ALL" AS "_SW_SCAN_ACTIVITY_ALL"
    ON "P"."USER_ID" = "_SW_SCAN_ACTIVITY_ALL"."_SW_KEY"
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
    (
      COALESCE(
        (
          "_SW_EVENT_LAST_9E3D2FC294" <= CAST('2026-08-03 00:00:00' AS TIMESTAMP)
        ),
        FALSE
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
    AND NOT (
      (
        (
          (
            COALESCE((
              COALESCE("_SW_EVENT_COUNT_2C21DCFB27", 0) >= 1
            ), FALSE)
          )
          AND (
            COALESCE((
              COALESCE("_SW_EVENT_COUNT_3C0074BE0B", 0) = 0
            ), FALSE)
          )
        )
      )
    )
  );
