-- segment trial_ending
-- defined in segments/lifecycle/trial_ending.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for postgres offline (no target catalog)
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
  CAST(NULL AS VARCHAR) AS "split",
  JSON_BUILD_OBJECT('email', "email", 'first_name', "first_name", 'trial_ends_at', "trial_ends_at") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE((
        CAST("plan" AS VARCHAR) = 'trial'
      ), FALSE)
    )
    AND (
      COALESCE(
        (
          CASE
            WHEN CAST("trial_ends_at" AS VARCHAR) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?[ \t\n\r\f]*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
            THEN CAST(CAST(CAST("trial_ends_at" AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)
          END > CAST('2026-11-01 00:00:00' AS TIMESTAMP)
          AND CASE
            WHEN CAST("trial_ends_at" AS VARCHAR) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?[ \t\n\r\f]*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
            THEN CAST(CAST(CAST("trial_ends_at" AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)
          END <= CAST('2026-11-08 00:00:00' AS TIMESTAMP)
        ),
        FALSE
      )
    )
  );
