-- segment mobile_app_users
-- defined in segments/engagement/mobile_app_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_DEVICE_1024H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT(*) AS "_SW_DEVICE_COUNT_650D4C4EEB"
  FROM "MAIN"."DEVICES" AS "S"
  WHERE
    "S"."LAST_SEEN_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."PLATFORM" IN ('ios', 'android')
    AND "S"."LAST_SEEN_AT" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "_SW_SCAN_DEVICE_1024H"."_SW_DEVICE_COUNT_650D4C4EEB"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_DEVICE_1024H" AS "_SW_SCAN_DEVICE_1024H"
    ON "P"."USER_ID" = "_SW_SCAN_DEVICE_1024H"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  CAST(NULL AS VARIANT) AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    COALESCE((
      COALESCE("_SW_DEVICE_COUNT_650D4C4EEB", 0) >= 1
    ), FALSE)
  );
