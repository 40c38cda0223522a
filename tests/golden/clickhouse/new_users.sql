-- segment new_users
-- defined in segments/lifecycle/new_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for clickhouse offline (no target catalog)
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
  CAST(NULL AS Nullable(String)) AS "split",
  formatRowNoNewline('JSONEachRow', "email", "first_name", "plan", "language") AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE(
      (
        CASE
          WHEN match(
            CAST("signup_at" AS Nullable(String)),
            '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?)?\\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
          )
          THEN parseDateTime64BestEffortOrNull(CAST("signup_at" AS Nullable(String)), 6, 'UTC')
        END > CAST('2026-10-25 00:00:00' AS DateTime64(6, 'UTC'))
        AND CASE
          WHEN match(
            CAST("signup_at" AS Nullable(String)),
            '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?)?\\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
          )
          THEN parseDateTime64BestEffortOrNull(CAST("signup_at" AS Nullable(String)), 6, 'UTC')
        END <= CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
      ),
      FALSE
    )
  )
SETTINGS "join_use_nulls" = 1;
