-- segment sms_audience_europe
-- defined in segments/marketing/sms_audience_europe.yml:1
-- as_of 2026-11-01T00:00:00Z
-- compiled by segwarehouse for duckdb offline (no target catalog)
WITH "_sw_scan_activity_all" AS (
  SELECT
    "s"."user_id" AS "_sw_key",
    COUNT(*) AS "_sw_activity_count_2320ae9e03"
  FROM "main"."message_activity" AS "s"
  WHERE
    "s"."occurred_at" <= CAST('2026-11-01 00:00:00' AS TIMESTAMP)
    AND "s"."activity" = 'unsubscribed'
  GROUP BY
    "s"."user_id"
), "_sw_people" AS (
  SELECT
    "p"."user_id",
    "p"."phone",
    "p"."first_name",
    "p"."country",
    "p"."language",
    "p"."marketing_opt_in",
    "p"."lifetime_value",
    "_sw_scan_activity_all"."_sw_activity_count_2320ae9e03"
  FROM "main"."users" AS "p"
  LEFT JOIN "_sw_scan_activity_all" AS "_sw_scan_activity_all"
    ON "p"."user_id" = "_sw_scan_activity_all"."_sw_key"
)
SELECT
  "user_id" AS "person_id",
  CAST(NULL AS TEXT) AS "split",
  JSON_OBJECT(
    'phone', "phone",
    'first_name', "first_name",
    'country', "country",
    'language', "language"
  ) AS "fields"
FROM "_sw_people"
WHERE
  (
    (
      COALESCE(
        (
          REGEXP_MATCHES(CAST("phone" AS TEXT), '^[+](44|49|33|34|48|31)[0-9]{8,11}$')
        ),
        FALSE
      )
    )
    AND (
      COALESCE((
        TRY_CAST("marketing_opt_in" AS BOOLEAN) = TRUE
      ), FALSE)
    )
    AND COALESCE((
      "lifetime_value" >= 50
    ), FALSE)
    AND NOT (
      (
        COALESCE((
          COALESCE("_sw_activity_count_2320ae9e03", 0) >= 1
        ), FALSE)
      )
    )
  );
