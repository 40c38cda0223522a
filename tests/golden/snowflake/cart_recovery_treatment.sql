-- segment cart_recovery_treatment
-- defined in segments/commerce/cart_recovery_treatment.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
WITH "_SW_SCAN_EVENT_256H" AS (
  SELECT
    "S"."USER_ID" AS "_SW_KEY",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."EVENT_NAME" IN ('add_to_cart', 'checkout_started')
      AND "S"."OCCURRED_AT" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    ) AS "_SW_EVENT_COUNT_2C21DCFB27",
    COUNT_IF(
      "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "S"."EVENT_NAME" = 'purchase'
      AND "S"."OCCURRED_AT" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    ) AS "_SW_EVENT_COUNT_3C0074BE0B"
  FROM "MAIN"."EVENTS" AS "S"
  WHERE
    "S"."OCCURRED_AT" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "S"."OCCURRED_AT" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    AND "S"."EVENT_NAME" IN ('add_to_cart', 'checkout_started', 'purchase')
  GROUP BY
    "S"."USER_ID"
), "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."MARKETING_OPT_IN",
    "_SW_SCAN_EVENT_256H"."_SW_EVENT_COUNT_2C21DCFB27",
    "_SW_SCAN_EVENT_256H"."_SW_EVENT_COUNT_3C0074BE0B"
  FROM "MAIN"."USERS" AS "P"
  LEFT JOIN "_SW_SCAN_EVENT_256H" AS "_SW_SCAN_EVENT_256H"
    ON "P"."USER_ID" = "_SW_SCAN_EVENT_256H"."_SW_KEY"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  (
    (
      (
        (
          COALESCE((
            COALESCE("_SW_EVENT_COUNT_2C21DCFB27", 0) >= 1
          ), FALSE)
        )
        AND (
          COALESCE((
            COALESCE("_SW_EVENT_COUNT_3C0074BE0B", 0) = 0
          ), FALSE)
        )
        AND COALESCE((
          "MARKETING_OPT_IN" AND NOT "EMAIL" IS NULL
        ), FALSE)
      )
    )
    AND COALESCE(
      (
        CASE
          WHEN (
            (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 1, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 268435456 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 2, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 16777216 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 3, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 1048576 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 4, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 65536 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 5, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 4096 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 6, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 256 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 7, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 16 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 8, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 1
          ) % 100 < 10
          THEN 'control'
          WHEN (
            (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 1, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 268435456 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 2, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 16777216 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 3, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 1048576 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 4, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 65536 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 5, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 4096 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 6, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 256 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 7, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 16 + (
              CAST(CHARINDEX(
                SUBSTRING(MD5('cart_recovery_2026:' || CAST("USER_ID" AS VARCHAR)), 8, 1),
                '0123456789abcdef'
              ) AS BIGINT) - 1
            ) * 1
          ) % 100 < 100
          THEN 'treatment'
        END IN ('treatment')
      ),
      FALSE
    )
  );
