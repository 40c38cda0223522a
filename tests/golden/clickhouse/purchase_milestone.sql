-- segment purchase_milestone
-- defined in segments/commerce/purchase_milestone.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for clickhouse offline (no target catalog)
WITH "_sw_scan_event_all" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_event_count_7bbdf3d219"
  FROM "main"."events" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
    AND "s"."event_name" = 'purchase'
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."lifetime_value",
    "_sw_scan_event_all"."_sw_event_count_7bbdf3d219"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_event_all" AS "_sw_scan_event_all"
    ON "p"."user_id" = "_sw_scan_event_all"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS Nullable(String)) AS "split",
  formatRowNoNewline('JSONEachRow', "email", "first_name", "lifetime_value") AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE((
      COALESCE("_sw_event_count_7bbdf3d219", 0) >= 10
    ), FALSE)
  )
SETTINGS "join_use_nulls" = 1;
