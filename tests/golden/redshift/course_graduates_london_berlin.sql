-- segment course_graduates_london_berlin
-- defined in segments/courses/course_graduates_london_berlin.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for redshift offline (no target catalog)
WITH "_sw_scan_event_all" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_event_count_117da6512e"
  FROM "main"."events" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."event_name" = 'course_completed'
    AND COALESCE(
      (
        JSON_EXTRACT_PATH_TEXT("s"."properties", 'course', TRUE) IN ('sql-basics', 'python-101', 'data-viz')
      ),
      FALSE
    )
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."city",
    "_sw_scan_event_all"."_sw_event_count_117da6512e"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_event_all" AS "_sw_scan_event_all"
    ON "p"."user_id" = "_sw_scan_event_all"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  OBJECT('email', "email", 'first_name', "first_name", 'city', "city") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE((
        COALESCE("_sw_event_count_117da6512e", 0) >= 1
      ), FALSE)
    )
    AND (
      COALESCE((
        CAST("city" AS VARCHAR) IN ('London', 'Berlin')
      ), FALSE)
    )
  );
