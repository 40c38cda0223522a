-- segment new_users
-- defined in segments/lifecycle/new_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for postgres offline (no target catalog)
WITH "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."plan",
    "p"."language",
    "p"."signup_at"
  FROM "main"."users" AS "p"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  JSON_BUILD_OBJECT('email', "email", 'first_name', "first_name", 'plan', "plan", 'language', "language") AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE(
      (
        CASE
          WHEN CAST("signup_at" AS VARCHAR) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?[ \t\n\r\f]*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
          THEN CAST(CAST(CAST("signup_at" AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)
        END > CAST('2026-10-25 00:00:00' AS TIMESTAMP)
        AND CASE
          WHEN CAST("signup_at" AS VARCHAR) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?[ \t\n\r\f]*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
          THEN CAST(CAST(CAST("signup_at" AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)
        END <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
  );
