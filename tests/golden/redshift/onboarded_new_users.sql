-- segment onboarded_new_users
-- defined in segments/lifecycle/onboarded_new_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for redshift offline (no target catalog)
WITH "_sw_scan_event_anchored_all" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_event_count_0a5bce01e8"
  FROM "main"."events" AS "s"
  INNER JOIN (
    SELECT
      "user_id",
      TRY_CAST(TRY_CAST("signup_at" AS TIMESTAMP WITH TIME ZONE) AS TIMESTAMP) AS "signup_at"
    FROM "main"."users"
  ) AS "p"
    ON "p"."user_id" = "s"."user_id"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."event_name" IN ('login', 'app_open')
    AND "p"."signup_at" < "s"."occurred_at"
    AND "s"."occurred_at" <= "p"."signup_at" + INTERVAL '48 HOUR'
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."signup_at",
    "_sw_scan_event_anchored_all"."_sw_event_count_0a5bce01e8"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_event_anchored_all" AS "_sw_scan_event_anchored_all"
    ON "p"."user_id" = "_sw_scan_event_anchored_all"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  OBJECT('email', "email", 'first_name', "first_name") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE(
        (
          TRY_CAST(TRY_CAST("signup_at" AS TIMESTAMP WITH TIME ZONE) AS TIMESTAMP) > CAST('2026-10-02 00:00:00' AS TIMESTAMP)
          AND TRY_CAST(TRY_CAST("signup_at" AS TIMESTAMP WITH TIME ZONE) AS TIMESTAMP) <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
        ),
        FALSE
      )
    )
    AND (
      COALESCE((
        COALESCE("_sw_event_count_0a5bce01e8", 0) >= 1
      ), FALSE)
    )
  );
