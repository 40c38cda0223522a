-- segment first_time_buyers
-- defined in segments/lifecycle/first_time_buyers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for redshift offline (no target catalog)
WITH "_sw_scan_event_all" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    MIN("s"."occurred_at") AS "_sw_event_first_d359a60061"
  FROM "main"."events" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."event_name" = 'purchase'
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "_sw_scan_event_all"."_sw_event_first_d359a60061"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_event_all" AS "_sw_scan_event_all"
    ON "p"."user_id" = "_sw_scan_event_all"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  OBJECT('email', "email", 'first_name', "first_name") AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE(
      (
        "_sw_event_first_d359a60061" > CAST('2026-10-18 00:00:00' AS TIMESTAMP)
        AND "_sw_event_first_d359a60061" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
  );
