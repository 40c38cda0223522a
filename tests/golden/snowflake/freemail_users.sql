-- segment freemail_users
-- defined in segments/engagement/freemail_users.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL"
  FROM "MAIN"."USERS" AS "P"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  CAST(NULL AS VARIANT) AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    COALESCE(
      (
        LOWER(CAST("EMAIL" AS VARCHAR)) LIKE LOWER('%gmail%') ESCAPE '!'
        OR LOWER(CAST("EMAIL" AS VARCHAR)) LIKE LOWER('%yahoo%') ESCAPE '!'
      ),
      FALSE
    )
  );
