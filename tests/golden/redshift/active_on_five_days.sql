-- segment active_on_five_days
-- defined in segments/engagement/active_on_five_days.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for redshift offline (no target catalog)
WITH "_sw_scan_event_1024h" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(DISTINCT CAST("s"."occurred_at" AS DATE)) AS "_sw_event_distinct_days_5ee34c4cc6"
  FROM "main"."events" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."event_name" IN ('login', 'app_open')
    AND "s"."occurred_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "_sw_scan_event_1024h"."_sw_event_distinct_days_5ee34c4cc6"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_event_1024h" AS "_sw_scan_event_1024h"
    ON "p"."user_id" = "_sw_scan_event_1024h"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  OBJECT('email', "email", 'first_name', "first_name") AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE((
      COALESCE("_sw_event_distinct_days_5ee34c4cc6", 0) >= 5
    ), FALSE)
  );
