-- segment stalled_learners
-- defined in segments/courses/stalled_learners.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for redshift offline (no target catalog)
WITH "_sw_scan_activity_all" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_activity_count_2320ae9e03"
  FROM "main"."message_activity" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."activity" = 'unsubscribed'
  GROUP BY
    "s"."user_id"
), "_sw_scan_event_1024h" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(
      CASE
        WHEN "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
        AND "s"."event_name" = 'course_started'
        AND "s"."occurred_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    ) AS "_sw_event_count_3f8d158fed",
    COUNT(
      CASE
        WHEN "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
        AND "s"."event_name" = 'course_completed'
        AND "s"."occurred_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
      END
    ) AS "_sw_event_count_ea4143213d"
  FROM "main"."events" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."occurred_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    AND "s"."event_name" IN ('course_completed', 'course_started')
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."marketing_opt_in",
    "p"."email",
    "p"."first_name",
    "p"."language",
    "_sw_scan_activity_all"."_sw_activity_count_2320ae9e03",
    "_sw_scan_event_1024h"."_sw_event_count_3f8d158fed",
    "_sw_scan_event_1024h"."_sw_event_count_ea4143213d"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_activity_all" AS "_sw_scan_activity_all"
    ON "p"."user_id" = "_sw_scan_activity_all"."_sw_key"
  LEFT JOIN "_sw_scan_event_1024h" AS "_sw_scan_event_1024h"
    ON "p"."user_id" = "_sw_scan_event_1024h"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  OBJECT('email', "email", 'first_name', "first_name", 'language', "language") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE((
        COALESCE("_sw_event_count_3f8d158fed", 0) >= 1
      ), FALSE)
    )
    AND NOT (
      (
        COALESCE((
          COALESCE("_sw_event_count_ea4143213d", 0) >= 1
        ), FALSE)
      )
    )
    AND COALESCE((
      "marketing_opt_in" AND NOT "email" IS NULL
    ), FALSE)
    AND NOT (
      (
        COALESCE((
          COALESCE("_sw_activity_count_2320ae9e03", 0) >= 1
        ), FALSE)
      )
    )
  );
