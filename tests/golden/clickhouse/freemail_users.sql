-- segment freemail_users
-- defined in segments/engagement/freemail_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for clickhouse offline (no target catalog)
WITH "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email"
  FROM "main"."users" AS "p"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS Nullable(String)) AS "split",
  CAST(NULL AS Nullable(JSON)) AS "fields"
FROM "_sw_people"
WHERE
  (
    COALESCE(
      (
        lowerUTF8(CAST("email" AS Nullable(String))) LIKE lowerUTF8('%gmail%') ESCAPE '!'
        OR lowerUTF8(CAST("email" AS Nullable(String))) LIKE lowerUTF8('%yahoo%') ESCAPE '!'
      ),
      FALSE
    )
  )
SETTINGS "join_use_nulls" = 1;
