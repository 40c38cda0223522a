-- segment freemail_users
-- defined in segments/engagement/freemail_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for duckdb offline (no target catalog)
WITH "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email"
  FROM "main"."users" AS "p"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS TEXT) AS "split",
  CAST(NULL AS JSON) AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE(
      (
        LOWER(CAST("email" AS TEXT)) LIKE LOWER('%gmail%') ESCAPE '!'
        OR LOWER(CAST("email" AS TEXT)) LIKE LOWER('%yahoo%') ESCAPE '!'
      ),
      FALSE
    )
  );
