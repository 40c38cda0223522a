{#-
  Audience building blocks shared by segments.

  Macros render text into the segment file *before* it is parsed as YAML, so each
  macro below renders one condition as a YAML flow mapping; use it as a list item:

      where:
        all:
          - {{ opted_in() }}
          - {{ purchased('90d', min_amount=var('min_order')) }}

  Keep them free of current_date/now(): membership must depend only on the run's as_of.
-#}

{#- Can receive marketing email: consented and has an address. -#}
{% macro opted_in() -%}
{sql: "marketing_opt_in AND email IS NOT NULL"}
{%- endmacro %}

{#- Ever unsubscribed from marketing messages (activity stream). -#}
{% macro unsubscribed() -%}
{activity: unsubscribed}
{%- endmacro %}

{#- On a paid plan. -#}
{% macro paying_plan() -%}
{attribute: plan, in: [pro, business]}
{%- endmacro %}

{#- At least one purchase in the window (a duration such as 90d), optionally of at least
    `min_amount` (orders whose amount is not a number, e.g. "n/a", never count). -#}
{% macro purchased(within, min_amount=none) -%}
{event: purchase, within: {{ within }}
{%- if min_amount is not none %}, where: {properties.amount: {gte: {{ min_amount }} } }{% endif %} }
{%- endmacro %}

{#- No purchase at all in the window: includes people who never bought. -#}
{% macro no_purchase(within) -%}
{event: purchase, within: {{ within }}, performed: false}
{%- endmacro %}
