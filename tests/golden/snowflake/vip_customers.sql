-- segment vip_customers
-- defined in segments/commerce/vip_customers.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for snowflake offline (no target catalog)
-- expects temporary table "_SW_STATIC_VIP_CUSTOMERS": the values of column email of data/vip_import.csv (static segment vip_customers)
WITH "_SW_PEOPLE" AS (
  SELECT
    "P"."USER_ID",
    "P"."EMAIL",
    "P"."FIRST_NAME",
    "P"."PLAN",
    "P"."COUNTRY"
  FROM "MAIN"."USERS" AS "P"
)
SELECT
  "USER_ID" AS "PERSON_ID",
  CAST(NULL AS VARCHAR) AS "SPLIT",
  OBJECT_CONSTRUCT_KEEP_NULL('email', "EMAIL", 'first_name', "FIRST_NAME", 'plan', "PLAN", 'country', "COUNTRY") AS "FIELDS"
FROM "_SW_PEOPLE"
WHERE
  COALESCE(
    (
      CAST("EMAIL" AS VARCHAR) IN (
        SELECT
          "VALUE"
        FROM "_SW_STATIC_VIP_CUSTOMERS"
      )
    ),
    FALSE
  );
