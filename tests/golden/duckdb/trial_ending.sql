-- segment trial_ending
-- defined in segments/lifecycle/trial_ending.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for duckdb offline (no target catalog)
WITH "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."trial_ends_at",
    "p"."plan"
  FROM "main"."users" AS "p"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS TEXT) AS "split",
  JSON_OBJECT('email', "email", 'first_name', "first_name", 'trial_ends_at', "trial_ends_at") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE((
        CAST("plan" AS TEXT) = 'trial'
      ), FALSE)
    )
    AND (
      COALESCE(
        (
          TRY_CAST(TRY_CAST("trial_ends_at" AS TIMESTAMPTZ) AS TIMESTAMP) > CAST('2026-11-01 00:00:00' AS TIMESTAMP)
          AND TRY_CAST(TRY_CAST("trial_ends_at" AS TIMESTAMPTZ) AS TIMESTAMP) <= CAST('2026-11-08 00:00:00' AS TIMESTAMP)
        ),
        FALSE
      )
    )
  );
