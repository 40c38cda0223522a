-- segment abandoned_cart_item
-- defined in segments/commerce/abandoned_cart_item.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for redshift offline (no target catalog)
WITH "_sw_scan_seq_db9d0c9f37" AS (
  SELECT
    "_sw_key",
    TRUE AS "_sw_seq_db9d0c9f37"
  FROM (
    SELECT
      "_sw_key",
      "_sw_t"
    FROM (
      SELECT
        "_sw_key",
        "_sw_t",
        "_sw_same_0",
        "_sw_kind",
        MIN(CASE WHEN "_sw_kind" = 0 THEN "_sw_t" END) OVER (
          PARTITION BY "_sw_key", "_sw_same_0"
          ORDER BY "_sw_t" DESC NULLS LAST, "_sw_kind" DESC NULLS LAST
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS "_sw_next_t"
      FROM (
        SELECT
          "r"."_sw_key",
          "r"."_sw_t",
          "r"."_sw_next_0" AS "_sw_same_0",
          1 AS "_sw_kind"
        FROM (
          SELECT
            "s"."user_id" AS "_sw_key",
            "s"."occurred_at" AS "_sw_t",
            JSON_EXTRACT_PATH_TEXT("s"."properties", 'sku', TRUE) AS "_sw_next_0"
          FROM "main"."events" AS "s"
          WHERE
            (
              "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
              AND "s"."event_name" = 'add_to_cart'
              AND "s"."occurred_at" > CAST('2026-10-25 00:00:00' AS TIMESTAMP)
            )
            AND "s"."occurred_at" <= CAST('2026-10-31 23:00:00' AS TIMESTAMP)
        ) AS "r"
        UNION ALL
        SELECT
          "s"."user_id" AS "_sw_key",
          "s"."occurred_at" AS "_sw_t",
          JSON_EXTRACT_PATH_TEXT("s"."properties", 'sku', TRUE) AS "_sw_same_0",
          0 AS "_sw_kind"
        FROM "main"."events" AS "s"
        WHERE
          (
            "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
            AND "s"."event_name" = 'purchase'
          )
          AND "s"."occurred_at" > CAST('2026-10-25 00:00:00' AS TIMESTAMP)
          AND NOT JSON_EXTRACT_PATH_TEXT("s"."properties", 'sku', TRUE) IS NULL
      ) AS "u"
    ) AS "w"
    WHERE
      "_sw_kind" = 1
      AND (
        "_sw_next_t" IS NULL OR "_sw_next_t" > "_sw_t" + INTERVAL '1 HOUR'
      )
  ) AS "r"
  GROUP BY
    "_sw_key"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "_sw_scan_seq_db9d0c9f37"."_sw_seq_db9d0c9f37"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_seq_db9d0c9f37" AS "_sw_scan_seq_db9d0c9f37"
    ON "p"."user_id" = "_sw_scan_seq_db9d0c9f37"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  OBJECT('email', "email", 'first_name', "first_name") AS "fields"
FROM "_sw_people"
WHERE
  COALESCE("_sw_seq_db9d0c9f37", FALSE);
