-- segment winter_browsers
-- defined in segments/commerce/winter_browsers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for clickhouse offline (no target catalog)
WITH "_sw_scan_page_view_1024h" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_page_view_count_dbe8e8a159"
  FROM "main"."page_views" AS "s"
  WHERE
    "s"."viewed_at" <= CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
    AND "s"."url" LIKE '%/winter/%' ESCAPE '!'
    AND "s"."viewed_at" > CAST('2026-10-18 00:00:00' AS DateTime64(6, 'UTC'))
  GROUP BY
    "s"."user_id"
), "_sw_scan_event_1024h" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_event_count_d8f44e6598"
  FROM "main"."events" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
    AND "s"."event_name" = 'purchase'
    AND COALESCE(
      (
        CASE
          WHEN JSONType("s"."properties", 'category') = 'String'
          THEN JSONExtractString("s"."properties", 'category')
          WHEN JSONType("s"."properties", 'category') IN ('Null', 'Object', 'Array')
          THEN NULL
          ELSE JSONExtractRaw("s"."properties", 'category')
        END IN ('coats', 'boots')
      ),
      FALSE
    )
    AND "s"."occurred_at" > CAST('2026-10-18 00:00:00' AS DateTime64(6, 'UTC'))
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."country",
    "_sw_scan_page_view_1024h"."_sw_page_view_count_dbe8e8a159",
    "_sw_scan_event_1024h"."_sw_event_count_d8f44e6598"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_page_view_1024h" AS "_sw_scan_page_view_1024h"
    ON "p"."user_id" = "_sw_scan_page_view_1024h"."_sw_key"
  LEFT JOIN "_sw_scan_event_1024h" AS "_sw_scan_event_1024h"
    ON "p"."user_id" = "_sw_scan_event_1024h"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS Nullable(String)) AS "split",
  formatRowNoNewline('JSONEachRow', "email", "first_name", "country") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE((
        COALESCE("_sw_page_view_count_dbe8e8a159", 0) >= 3
      ), FALSE)
    )
    AND (
      COALESCE((
        COALESCE("_sw_event_count_d8f44e6598", 0) = 0
      ), FALSE)
    )
  )
SETTINGS "join_use_nulls" = 1;
