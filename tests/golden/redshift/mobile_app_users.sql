-- segment mobile_app_users
-- defined in segments/engagement/mobile_app_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for redshift offline (no target catalog)
WITH "_sw_scan_device_1024h" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_device_count_650d4c4eeb"
  FROM "main"."devices" AS "s"
  WHERE
    "s"."last_seen_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."platform" IN ('ios', 'android')
    AND "s"."last_seen_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "_sw_scan_device_1024h"."_sw_device_count_650d4c4eeb"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_device_1024h" AS "_sw_scan_device_1024h"
    ON "p"."user_id" = "_sw_scan_device_1024h"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  NULL AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE((
      COALESCE("_sw_device_count_650d4c4eeb", 0) >= 1
    ), FALSE)
  );
