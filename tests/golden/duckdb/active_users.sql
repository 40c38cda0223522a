-- segment active_users
-- defined in segments/engagement/active_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for duckdb offline (no target catalog)
WITH "_sw_scan_activity_1024h" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) FILTER(WHERE
      "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "s"."activity" = 'email_opened'
      AND "s"."occurred_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)) AS "_sw_activity_count_3fbdc28975",
    COUNT(*) FILTER(WHERE
      "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "s"."activity" = 'email_clicked'
      AND "s"."occurred_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)) AS "_sw_activity_count_447f824b55"
  FROM "main"."message_activity" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."occurred_at" > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    AND "s"."activity" IN ('email_clicked', 'email_opened')
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."plan",
    "_sw_scan_activity_1024h"."_sw_activity_count_3fbdc28975",
    "_sw_scan_activity_1024h"."_sw_activity_count_447f824b55"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_activity_1024h" AS "_sw_scan_activity_1024h"
    ON "p"."user_id" = "_sw_scan_activity_1024h"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS TEXT) AS "split",
  JSON_OBJECT('email', "email", 'first_name', "first_name", 'plan', "plan") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE((
        COALESCE("_sw_activity_count_3fbdc28975", 0) >= 1
      ), FALSE)
    )
    AND (
      COALESCE((
        COALESCE("_sw_activity_count_447f824b55", 0) >= 1
      ), FALSE)
    )
  );
