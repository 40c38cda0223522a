-- segment vip_customers (segments/commerce/vip_customers.yml:1), as_of 2026-11-01T00:00:00, compiled by segwarehouse for snowflake
-- static segments read temporary tables _sw_static_<segment> loaded from their CSV
WITH "_SW_PEOPLE" AS (
  SELECT
    "P".*
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
