-- segment abandoned_cart
-- defined in segments/commerce/abandoned_cart.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for postgres offline (no target catalog)
WITH "_sw_scan_event_256h" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) FILTER(WHERE
      "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "s"."event_name" IN ('add_to_cart', 'checkout_started')
      AND "s"."occurred_at" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)) AS "_sw_event_count_2c21dcfb27",
    COUNT(*) FILTER(WHERE
      "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND "s"."event_name" = 'purchase'
      AND "s"."occurred_at" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)) AS "_sw_event_count_3c0074be0b"
  FROM "main"."events" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."occurred_at" > CAST('2026-10-29 00:00:00' AS TIMESTAMP)
    AND "s"."event_name" IN ('add_to_cart', 'checkout_started', 'purchase')
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "_sw_scan_event_256h"."_sw_event_count_2c21dcfb27",
    "_sw_scan_event_256h"."_sw_event_count_3c0074be0b"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_event_256h" AS "_sw_scan_event_256h"
    ON "p"."user_id" = "_sw_scan_event_256h"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS VARCHAR) AS "split",
  JSON_BUILD_OBJECT('email', "email", 'first_name', "first_name") AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE((
        COALESCE("_sw_event_count_2c21dcfb27", 0) >= 1
      ), FALSE)
    )
    AND (
      COALESCE((
        COALESCE("_sw_event_count_3c0074be0b", 0) = 0
      ), FALSE)
    )
  );
