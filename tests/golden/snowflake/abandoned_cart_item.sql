-- segment abandoned_cart_item
-- defined in segments/commerce/abandoned_cart_item.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_SEQ_DB9D0C9F37" AS (
  SELECT
    "_SW_KEY",
    TRUE AS "_SW_SEQ_DB9D0C9F37"
  FROM (
    SELECT
      "_SW_KEY",
      "_SW_T"
    FROM (
      SELECT
        "_SW_KEY",
        "_SW_T",
        "_SW_SAME_0",
        "_SW_KIND",
        MIN(CASE WHEN "_SW_KIND" = 0 THEN "_SW_T" END) OVER (
          PARTITION BY "_SW_KEY", "_SW_SAME_0"
          ORDER BY "_SW_T" DESC NULLS LAST, "_SW_KIND" DESC NULLS LAST
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS "_SW_NEXT_T"
      FROM (
        SELECT
          "R"."_SW_KEY",
          "R"."_SW_T",
          "R"."_SW_NEXT_0" AS "_SW_SAME_0",
          1 AS "_SW_KIND"
        FROM (
          SELECT
            "S"."USER_ID" AS "_SW_KEY",
            "S"."OCCURRED_AT" AS "_SW_T",
            JSON_EXTRACT_PATH_TEXT("S"."PROPERTIES", 'sku') AS "_SW_NEXT_0"
          FROM "MAIN"."EVENTS" AS "S"
          WHERE
            (
              "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
              AND "S"."EVENT_NAME" = 'add_to_cart'
              AND "S"."OCCURRED_AT" > CAST('2026-10-25 00:00:00' AS TIMESTAMP)
            )
            AND "S"."OCCURRED_AT" <= CAST('2026-10-31 23:00:00' AS TIMESTAMP)
        ) AS "R"
        UNION ALL
        SELECT
          "S"."USER_ID" AS "_SW_KEY",
          "S"."OCCURRED_AT" AS "_SW_T",
          JSON_EXTRACT_PATH_TEXT("S"."PROPERTIES", 'sku') AS "_SW_SAME_0",
          0 AS "_SW_KIND"
        FROM "MAIN"."EVENTS" AS "S"
        WHERE
          (
            "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
            AND "S"."EVENT_NAME" = 'purchase'
          )
          AND "S"."OCCURRED_AT" > CAST('2026-10-25 00:00:00' AS TIMESTAMP)
          AND NOT JSON_EXTRACT_PATH_TEXT("S"."PROPERTIES", 'sku') IS NULL
      ) AS "U"
    ) AS "W"
    WHERE
      "_SW_KIND" = 1
      AND (
        "_SW_NEXT_T" IS NULL OR "_SW_NEXT_T" > "_SW_T" + INTERVAL '1 HOUR'
      )
  ) AS "R"
  GROUP BY
    "_SW_KEY"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "_SW_SCAN_SEQ_DB9D0C9F37"."_SW_SEQ_DB9D0C9F37"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_SEQ_DB9D0C9F37" AS "_SW_SCAN_SEQ_DB9D0C9F37"
    ON "P"."USER_ID" = "_SW_SCAN_SEQ_DB9D0C9F37"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  COALESCE("_SW_SEQ_DB9D0C9F37", FALSE);
