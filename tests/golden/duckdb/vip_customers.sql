-- segment vip_customers
-- defined in segments/commerce/vip_customers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for duckdb offline (no target catalog)
-- expects temporary table "_sw_static_vip_customers": the values of column email of data/vip_import.csv (static segment vip_customers)
WITH "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."email",
    "p"."first_name",
    "p"."plan",
    "p"."country"
  FROM "main"."users" AS "p"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS TEXT) AS "split",
  JSON_OBJECT('email', "email", 'first_name', "first_name", 'plan', "plan", 'country', "country") AS "fields"
FROM "_sw_people"
WHERE
  COALESCE(
    (
      CAST("email" AS TEXT) IN (
        SELECT
          "value"
        FROM "_sw_static_vip_customers"
      )
    ),
    FALSE
  );
