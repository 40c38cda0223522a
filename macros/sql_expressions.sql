{#-
  SQL expressions (source_dialect: duckdb) over the people table's columns, and `sql:`
  conditions built from them. The escape hatch is for logic the condition language has no
  operator for; it must stay deterministic (no current_date / now()).
-#}

{#- Free-mail providers, as a SQL list literal. -#}
{% macro freemail_domains() -%}
('gmail.com', 'googlemail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com')
{%- endmacro %}

{#- The lower-cased domain of an email column (NULL when the email is NULL). -#}
{% macro email_domain(column='email') -%}
lower(split_part({{ column }}, '@', 2))
{%- endmacro %}

{#- A company (non free-mail) email address. NULL emails are not company emails. -#}
{% macro company_email(column='email') -%}
{sql: "{{ email_domain(column) }} <> '' AND {{ email_domain(column) }} NOT IN {{ freemail_domains() }}"}
{%- endmacro %}

{#- Lifetime value (people.lifetime_value) of at least `amount`. -#}
{% macro lifetime_value_at_least(amount) -%}
{sql: "lifetime_value >= {{ amount }}"}
{%- endmacro %}
