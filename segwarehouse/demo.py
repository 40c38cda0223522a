"""Deterministic demo data for an online shop that also sells courses.

`generate_demo` builds five tables (users, events, page_views,
message_activity, devices) inside DuckDB with set-based SQL only: every
"random" choice is `hash(hash($seed, user_id, row, salt))` mapped to [0, 1),
so the same (people, seed, anchor) always yields byte-identical tables, whatever
the thread count. (The outer hash matters: DuckDB combines a multi-argument
hash by XOR-ing in the last argument, so hashes that differ only in their salt
differ by a constant and their draws would be correlated.) All SQL below is constant text; seed, people and anchor are bound
as prepared-statement parameters and the schema is a sqlglot-quoted identifier.

Times are "seconds before the anchor" until the last step. The data covers
about 400 days before `anchor`, plus a few rows up to 3 days after it
(client clock skew, scheduled messages) that segment evaluation must ignore.

Built-in stories, so example segments select someone:
  * lapsed users whose activity fades out months ago;
  * an abandoned-cart cohort: add_to_cart in the last week, no purchase in 30 days;
  * carts that convert: about 30% of other people's carts buy that item (same sku) minutes later;
  * heavy buyers with 10+ purchases;
  * course learners (completers in London and Berlin among them);
  * winter shoppers browsing /winter/... pages in the last ~2 months;
  * email engagement where opens are a fraction of deliveries and clicks a
    fraction of opens.
Quirks kept on purpose: ~0.1% orphan events (user_id matching nobody), ~0.5% of
purchase amounts are the string "n/a", ~1% NULL and ~2% upper/mixed-case
emails, ~30% NULL phones.
"""

from __future__ import annotations

import datetime

from sqlglot import exp

__all__ = ["generate_demo", "TABLES"]

TABLES = ("users", "events", "page_views", "message_activity", "devices")

# Per-person traits shared by every table's statement (recomputing them is
# cheap and keeps each statement self-contained: no temp objects).
# u_* are independent uniforms in [0, 1); *_ago are seconds before the anchor.
_PEOPLE = """
geo(country, lo, hi, language, phone_prefix, phone_digits, cities) AS (VALUES
    ('US', 0.00, 0.28, 'en', '+1',     10, ['New York', 'Los Angeles', 'San Francisco', 'Chicago', 'Austin', 'Seattle']),
    ('GB', 0.28, 0.40, 'en', '+447',    9, ['London', 'Manchester', 'Birmingham', 'Edinburgh']),
    ('DE', 0.40, 0.52, 'de', '+4915',   9, ['Berlin', 'Munich', 'Hamburg', 'Cologne']),
    ('FR', 0.52, 0.60, 'fr', '+336',    8, ['Paris', 'Lyon', 'Marseille', 'Toulouse']),
    ('ES', 0.60, 0.66, 'es', '+346',    8, ['Madrid', 'Barcelona', 'Valencia', 'Seville']),
    ('BR', 0.66, 0.75, 'pt', '+55119',  8, ['São Paulo', 'Rio de Janeiro', 'Belo Horizonte']),
    ('IN', 0.75, 0.86, 'en', '+919',    9, ['Bengaluru', 'Mumbai', 'Delhi', 'Hyderabad']),
    ('PL', 0.86, 0.92, 'pl', '+485',    8, ['Warsaw', 'Kraków', 'Wrocław', 'Gdańsk']),
    ('NL', 0.92, 0.96, 'en', '+316',    8, ['Amsterdam', 'Rotterdam', 'Utrecht']),
    ('CA', 0.96, 1.01, 'en', '+1',     10, ['Toronto', 'Vancouver', 'Montreal'])
),
draws AS (
    SELECT
        i AS user_id,
        hash(hash($seed::BIGINT, i, 'kind'))     % 1000000000 / 1e9 AS u_kind,
        hash(hash($seed::BIGINT, i, 'signup'))   % 1000000000 / 1e9 AS u_signup,
        hash(hash($seed::BIGINT, i, 'lapse'))    % 1000000000 / 1e9 AS u_lapse,
        hash(hash($seed::BIGINT, i, 'activity')) % 1000000000 / 1e9 AS u_activity,
        hash(hash($seed::BIGINT, i, 'channel'))  % 1000000000 / 1e9 AS u_channel,
        hash(hash($seed::BIGINT, i, 'country'))  % 1000000000 / 1e9 AS u_country,
        hash(hash($seed::BIGINT, i, 'city'))     % 1000000000 / 1e9 AS u_city,
        hash(hash($seed::BIGINT, i, 'language')) % 1000000000 / 1e9 AS u_language,
        hash(hash($seed::BIGINT, i, 'optin'))    % 1000000000 / 1e9 AS u_optin,
        hash(hash($seed::BIGINT, i, 'unsub'))    % 1000000000 / 1e9 AS u_unsub,
        hash(hash($seed::BIGINT, i, 'email'))    % 1000000000 / 1e9 AS u_email,
        hash(hash($seed::BIGINT, i, 'phone'))    % 1000000000 / 1e9 AS u_phone,
        hash(hash($seed::BIGINT, i, 'winter'))   % 1000000000 / 1e9 AS u_winter,
        hash(hash($seed::BIGINT, i, 'engage'))   % 1000000000 / 1e9 AS u_engage,
        hash(hash($seed::BIGINT, i, 'click'))    % 1000000000 / 1e9 AS u_click,
        hash(hash($seed::BIGINT, i, 'devices'))  % 1000000000 / 1e9 AS u_devices,
        (hash(hash($seed::BIGINT, i, 'course')) % 4)::INT + 1      AS fav_course
    FROM range(1, $people::BIGINT + 1) AS r(i)
),
people AS (
    SELECT
        d.*,
        CASE
            WHEN u_kind < 0.02 THEN 'dormant'         -- signed up, never came back
            WHEN u_kind < 0.23 THEN 'lapsed'          -- activity fades out
            WHEN u_kind < 0.27 THEN 'heavy_buyer'
            WHEN u_kind < 0.33 THEN 'abandoned_cart'  -- carts last week, no purchase
            WHEN u_kind < 0.41 THEN 'learner'         -- takes courses
            ELSE 'regular'
        END AS kind,
        -- signups grow over time: recent days are denser than old ones
        (3600 + 400 * 86400 * pow(u_signup, 1.3))::BIGINT AS signup_ago,
        -- lapsed people are active only during the first 10-60% of their life
        CASE WHEN kind = 'lapsed' THEN (signup_ago * (0.4 + 0.5 * u_lapse))::BIGINT
             WHEN kind = 'dormant' THEN signup_ago
             ELSE 0 END AS end_ago,
        (signup_ago - end_ago) / 86400.0 AS active_days,
        -- heavy-tailed per-person appetite, Exp(1) capped
        least(-ln(1 - u_activity), 6.0) AS intensity,
        CASE WHEN u_channel < 0.45 THEN 'web' WHEN u_channel < 0.75 THEN 'ios' ELSE 'android' END AS main_channel,
        g.country, g.phone_prefix, g.phone_digits,
        g.cities[1 + floor(len(g.cities) * pow(u_city, 1.5))::INT] AS city,  -- biggest city first
        CASE WHEN u_language < 0.10 THEN 'en' ELSE g.language END AS language,
        u_optin < 0.65 AS opted_in,
        CASE WHEN opted_in AND u_unsub < 0.06 THEN (signup_ago * u_unsub / 0.06)::BIGINT END AS unsub_ago,
        u_email >= 0.01 AS has_email,
        u_phone >= 0.30 AS has_phone,
        kind NOT IN ('dormant', 'lapsed') AND u_winter < 0.18 AS winter_shopper
    FROM draws AS d
    JOIN geo AS g ON d.u_country >= g.lo AND d.u_country < g.hi
)
"""

# Constant lists, formatted into the SQL text and indexed 1-based by small codes.
# Wide rows are decoded from the codes only after sorting: sorting the JSON
# payload itself was the dominant cost at 1M people.
_CHANNELS = "['web', 'ios', 'android']"
_COURSES = "['sql-basics', 'python-101', 'data-viz', 'marketing-analytics']"
_EVENT_NAMES = ("['login', 'app_open', 'add_to_cart', 'checkout_started', 'purchase', "
                "'course_started', 'course_completed']")
# three device names per channel (web, ios, android)
_DEVICES = ("['desktop', 'laptop', 'tablet', 'iPhone 13', 'iPhone 15', 'iPad Air', "
            "'Pixel 8', 'Galaxy S23', 'Galaxy A54']")
_BLOG = "['winter-style-guide', 'how-to-layer', 'summer-essentials', 'gift-ideas', 'sql-tips', 'dashboard-design']"
_ACTIVITIES = ("['email_delivered', 'email_opened', 'email_clicked', 'sms_delivered', 'sms_clicked', "
               "'push_delivered', 'push_opened', 'unsubscribed']")
_CAMPAIGNS = ("['winter-sale', 'new-arrivals', 'weekly-digest', 'course-launch', 'cart-reminder', "
              "'flash-sale', 'spring-refresh', 'summer-clearance', 'win-back']")
# JSON values that depend on a code only: built once per statement, not per row
_COURSE_JSON = "list_transform(" + _COURSES + ", lambda c: json_object('course', c))"
_DEVICE_JSON = ("list_concat(['{}'::JSON], "  # device code 0: no properties
                "list_transform(" + _DEVICES + ", lambda d: json_object('device', d)))")
_CAMPAIGN_JSON = "list_transform(" + _CAMPAIGNS + ", lambda c: json_object('campaign', c))"
# product catalogue: winter items first (1-14), then summer (15-24)
_CATALOG = """[
    {'season': 'winter', 'category': 'coats', 'product': 'parka-123', 'price': 189.00, 'sku': 'SKU-123'},
    {'season': 'winter', 'category': 'coats', 'product': 'trench-140', 'price': 159.00, 'sku': 'SKU-140'},
    {'season': 'winter', 'category': 'coats', 'product': 'puffer-212', 'price': 129.00, 'sku': 'SKU-212'},
    {'season': 'winter', 'category': 'boots', 'product': 'chelsea-310', 'price': 119.00, 'sku': 'SKU-310'},
    {'season': 'winter', 'category': 'boots', 'product': 'snow-boot-318', 'price': 99.00, 'sku': 'SKU-318'},
    {'season': 'winter', 'category': 'boots', 'product': 'hiking-boot-325', 'price': 139.00, 'sku': 'SKU-325'},
    {'season': 'winter', 'category': 'sweaters', 'product': 'cardigan-401', 'price': 59.00, 'sku': 'SKU-401'},
    {'season': 'winter', 'category': 'sweaters', 'product': 'turtleneck-415', 'price': 49.00, 'sku': 'SKU-415'},
    {'season': 'winter', 'category': 'sweaters', 'product': 'crewneck-422', 'price': 44.00, 'sku': 'SKU-422'},
    {'season': 'winter', 'category': 'scarves', 'product': 'wool-scarf-501', 'price': 29.00, 'sku': 'SKU-501'},
    {'season': 'winter', 'category': 'scarves', 'product': 'cashmere-scarf-507', 'price': 79.00, 'sku': 'SKU-507'},
    {'season': 'winter', 'category': 'scarves', 'product': 'knit-scarf-512', 'price': 19.00, 'sku': 'SKU-512'},
    {'season': 'winter', 'category': 'accessories', 'product': 'beanie-801', 'price': 15.00, 'sku': 'SKU-801'},
    {'season': 'winter', 'category': 'accessories', 'product': 'gloves-806', 'price': 24.00, 'sku': 'SKU-806'},
    {'season': 'summer', 'category': 't-shirts', 'product': 'basic-tee-601', 'price': 12.00, 'sku': 'SKU-601'},
    {'season': 'summer', 'category': 't-shirts', 'product': 'graphic-tee-618', 'price': 22.00, 'sku': 'SKU-618'},
    {'season': 'summer', 'category': 't-shirts', 'product': 'linen-tee-625', 'price': 35.00, 'sku': 'SKU-625'},
    {'season': 'summer', 'category': 'shorts', 'product': 'cargo-shorts-701', 'price': 39.00, 'sku': 'SKU-701'},
    {'season': 'summer', 'category': 'shorts', 'product': 'denim-shorts-712', 'price': 45.00, 'sku': 'SKU-712'},
    {'season': 'summer', 'category': 'shorts', 'product': 'swim-shorts-720', 'price': 29.00, 'sku': 'SKU-720'},
    {'season': 'summer', 'category': 'sandals', 'product': 'slides-901', 'price': 25.00, 'sku': 'SKU-901'},
    {'season': 'summer', 'category': 'sandals', 'product': 'leather-sandal-915', 'price': 69.00, 'sku': 'SKU-915'},
    {'season': 'summer', 'category': 'sandals', 'product': 'flip-flops-920', 'price': 9.99, 'sku': 'SKU-920'},
    {'season': 'summer', 'category': 'accessories', 'product': 'sunglasses-830', 'price': 49.00, 'sku': 'SKU-830'}
]"""

USERS_SQL = """
CREATE OR REPLACE TABLE {users} AS
WITH """ + _PEOPLE + """,
names AS (
    SELECT
        p.*,
        ['Ann', 'James', 'Maria', 'Liam', 'Sofia', 'Noah', 'Emma', 'Lucas', 'Olivia', 'Mateo',
         'Mia', 'Ethan', 'Chloe', 'Ravi', 'Priya', 'Jan', 'Anna', 'Lena', 'Felix', 'Hugo',
         'Camille', 'Pablo', 'Lucia', 'Joao', 'Ana', 'Piotr', 'Zofia', 'Daan', 'Sara', 'Omar']
            [1 + (hash(hash($seed::BIGINT, user_id, 'first')) % 30)::INT] AS first_name,
        ['Lee', 'Smith', 'Garcia', 'Brown', 'Muller', 'Schmidt', 'Martin', 'Bernard', 'Lopez', 'Silva',
         'Santos', 'Patel', 'Sharma', 'Kowalski', 'Nowak', 'Jansen', 'Rossi', 'Dubois', 'Taylor', 'Wilson',
         'Fischer', 'Weber', 'Moreau', 'Fernandez', 'Costa', 'Kumar', 'Wojcik', 'de Vries', 'Clark', 'Young']
            [1 + (hash(hash($seed::BIGINT, user_id, 'last')) % 30)::INT] AS last_name,
        -- free-mail heavy, plus a few company domains (B2B buyers)
        ['gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com',
         'yahoo.com', 'yahoo.com', 'yahoo.com', 'outlook.com', 'outlook.com', 'outlook.com',
         'icloud.com', 'icloud.com', 'acme.com', 'globex.com', 'initech.com', 'hooli.com']
            [1 + (hash(hash($seed::BIGINT, user_id, 'domain')) % 20)::INT] AS domain,
        replace(lower(first_name || '.' || last_name), ' ', '') || user_id::VARCHAR AS local_part,
        hash(hash($seed::BIGINT, user_id, 'case')) % 1000000000 / 1e9 AS u_case,
        hash(hash($seed::BIGINT, user_id, 'plan')) % 1000000000 / 1e9 AS u_plan
    FROM people AS p
),
logins AS (  -- users agree with the events table
    SELECT user_id, max(occurred_at) AS last_login_at
    FROM {events}
    WHERE event_name IN ('login', 'app_open') AND occurred_at <= $anchor::TIMESTAMP
    GROUP BY user_id
),
spend AS (  -- DECIMAL sum is exact, hence independent of aggregation order
    SELECT user_id, sum(try_cast(properties ->> 'amount' AS DECIMAL(18, 2))) AS ltv
    FROM {events}
    WHERE event_name = 'purchase' AND occurred_at <= $anchor::TIMESTAMP
    GROUP BY user_id
)
SELECT
    n.user_id::BIGINT AS user_id,
    CASE
        WHEN NOT has_email THEN NULL
        WHEN u_case < 0.01 THEN upper(local_part || '@' || domain)
        WHEN u_case < 0.02 THEN first_name || '.' || replace(last_name, ' ', '') || user_id::VARCHAR
                                 || '@' || upper(split_part(domain, '.', 1)) || '.' || split_part(domain, '.', 2)
        ELSE local_part || '@' || domain
    END::VARCHAR AS email,
    CASE WHEN has_phone THEN
        phone_prefix
        || CASE WHEN phone_prefix = '+1' THEN
               CASE WHEN country = 'CA' THEN ['416', '604', '514'][1 + (hash(hash($seed::BIGINT, user_id, 'area')) % 3)::INT]
                    ELSE ['212', '310', '415', '512', '206', '312'][1 + (hash(hash($seed::BIGINT, user_id, 'area')) % 6)::INT] END
               || lpad((hash(hash($seed::BIGINT, user_id, 'number')) % 10000000)::VARCHAR, 7, '0')
           ELSE lpad((hash(hash($seed::BIGINT, user_id, 'number')) % (10 ** phone_digits)::UBIGINT)::VARCHAR, phone_digits, '0')
           END
    END::VARCHAR AS phone,
    first_name::VARCHAR AS first_name,
    last_name::VARCHAR AS last_name,
    CASE WHEN u_plan < 0.55 THEN 'free' WHEN u_plan < 0.65 THEN 'trial'
         WHEN u_plan < 0.90 THEN 'pro' ELSE 'business' END::VARCHAR AS plan,
    country::VARCHAR AS country,
    city::VARCHAR AS city,
    $anchor::TIMESTAMP - to_seconds(signup_ago) AS signup_at,
    -- trials end between 10 days ago and 14 days from now
    CASE WHEN plan = 'trial' THEN $anchor::TIMESTAMP
        + to_seconds((-10 * 86400 + 24 * 86400 * (hash(hash($seed::BIGINT, user_id, 'trial')) % 1000000000 / 1e9))::BIGINT)
    END::TIMESTAMP AS trial_ends_at,
    l.last_login_at::TIMESTAMP AS last_login_at,
    coalesce(s.ltv, 0)::DOUBLE AS lifetime_value,
    (opted_in AND unsub_ago IS NULL)::BOOLEAN AS marketing_opt_in,
    language::VARCHAR AS language
FROM names AS n
LEFT JOIN logins AS l USING (user_id)
LEFT JOIN spend AS s USING (user_id)
ORDER BY signup_at, user_id
"""

EVENTS_SQL = """
CREATE OR REPLACE TABLE {events} AS
WITH """ + _PEOPLE + """,
actors AS (  -- per-person budget and event mix, so that per-row work is plain arithmetic
    SELECT
        user_id, signup_ago, end_ago, winter_shopper, fav_course,
        kind = 'lapsed' AS lapsed,
        kind = 'abandoned_cart' AS abandoned,
        list_position({channels}, main_channel) AS main_ch,
        CASE WHEN kind = 'dormant' THEN 0
             ELSE 1 + floor(intensity * active_days * CASE kind WHEN 'lapsed' THEN 0.6 WHEN 'heavy_buyer' THEN 0.8
                                                                WHEN 'learner' THEN 0.3 ELSE 0.28 END)::BIGINT
        END AS n_events,
        -- extra recent carts of the abandoned-cart cohort
        CASE WHEN abandoned THEN 1 + (hash(hash($seed::BIGINT, user_id, 'carts')) % 3)::BIGINT ELSE 0 END AS n_extra,
        -- cumulative thresholds of the event mix; the remainder is login/app_open
        CASE kind WHEN 'heavy_buyer' THEN 0.22 WHEN 'learner' THEN 0.02 ELSE 0.035 END AS t_purchase,
        t_purchase + CASE kind WHEN 'heavy_buyer' THEN 0.08 ELSE 0.04 END AS t_checkout,
        t_checkout + CASE kind WHEN 'heavy_buyer' THEN 0.15 ELSE 0.10 END AS t_cart,
        t_cart + CASE kind WHEN 'learner' THEN 0.30 ELSE 0.01 END AS t_course
    FROM people
),
slots AS (
    SELECT
        p.*,
        r.j >= p.n_events AS is_cart_extra,
        hash(hash($seed::BIGINT, p.user_id, r.j, 1)) AS h1,
        hash(hash($seed::BIGINT, p.user_id, r.j, 2)) AS h2,
        hash(hash($seed::BIGINT, p.user_id, r.j, 3)) AS h3
    FROM actors AS p, range(p.n_events + p.n_extra) AS r(j)
),
rolls AS (  -- each 64-bit hash gives two independent 30-bit uniforms
    SELECT *,
        (h1 & 1073741823) / 1073741824 AS u_time,
        ((h1 >> 30) & 1073741823) / 1073741824 AS u_type,
        (h2 & 1073741823) / 1073741824 AS u_channel,
        ((h2 >> 30) & 1073741823) / 1073741824 AS u_item,
        (h3 & 1073741823) / 1073741824 AS u_extra,
        ((h3 >> 30) & 1073741823) % 1000000 AS odd  -- rare quirks, per million
    FROM slots
),
timed AS (
    SELECT *,
        CASE
            WHEN is_cart_extra THEN u_time * 6 * 86400
            WHEN odd < 200 AND NOT lapsed THEN -1 - u_time * 3 * 86400  -- future: client clock skew
            -- lapsed: density falls linearly to zero at end_ago (fading activity)
            WHEN lapsed THEN end_ago + (signup_ago - end_ago) * sqrt(u_time)
            ELSE end_ago + (signup_ago - end_ago) * u_time
        END::BIGINT AS ago,
        CASE WHEN u_channel < 0.8 THEN main_ch ELSE 1 + floor((u_channel - 0.8) / 0.2 * 3)::INT END AS ch
    FROM rolls
),
single AS (  -- one row per slot as small codes, indexes into the constant lists
    SELECT
        -- ~0.1% of rows point to nobody (deleted accounts, tracking bugs)
        CASE WHEN odd >= 999000 THEN $people::BIGINT + user_id ELSE user_id END AS user_id,
        $anchor::TIMESTAMP - to_seconds(ago) AS occurred_at,
        -- 1 login, 2 app_open, 3 add_to_cart, 4 checkout_started, 5 purchase, 6 course_started, 7 course_completed
        CASE
            WHEN is_cart_extra THEN CASE WHEN u_type < 0.3 THEN 4 ELSE 3 END
            -- the abandoned-cart cohort bought nothing in the last 30 days
            WHEN u_type < t_purchase THEN CASE WHEN abandoned AND ago < 30 * 86400 THEN 3 ELSE 5 END
            WHEN u_type < t_checkout THEN 4
            WHEN u_type < t_cart THEN 3
            WHEN u_type < t_course THEN CASE WHEN u_extra < 0.35 THEN 7 ELSE 6 END
            WHEN ch = 1 OR u_extra < 0.3 THEN 1  -- web always logs in
            ELSE 2
        END AS ev,
        ch,
        CASE
            WHEN ev BETWEEN 3 AND 5 THEN  -- shop events: catalogue item
                -- winter shoppers shop winter items lately (coats above all)
                CASE WHEN winter_shopper AND ago < 60 * 86400 THEN
                         CASE WHEN u_item < 0.4 THEN 1 + floor(u_item / 0.4 * 3)
                              ELSE 1 + floor((u_item - 0.4) / 0.6 * 14) END
                     ELSE 1 + floor(u_item * 24) END
            WHEN ev >= 6 THEN  -- course events: mostly the person's favourite course
                CASE WHEN u_item < 0.7 THEN fav_course ELSE 1 + floor((u_item - 0.7) / 0.3 * 4) END
            WHEN u_item < 0.5 THEN 0  -- login/app_open without properties
            ELSE (ch - 1) * 3 + 1 + floor((u_item - 0.5) / 0.5 * 3)  -- a device of that channel
        END::INT AS detail,
        CASE WHEN ev BETWEEN 3 AND 5 AND NOT (ev = 5 AND odd < 5000) THEN  -- NULL: "n/a" (broken tracking)
            round({catalog}[detail].price * (CASE WHEN u_extra < 0.15 THEN 2 ELSE 1 END)
                  * (0.8 + 0.2 * u_extra) * 100)::INT
        END AS cents,
        abandoned, h2, h3
    FROM timed
),
coded AS (
    SELECT user_id, occurred_at, ev, ch, detail, cents FROM single
    UNION ALL  -- about 30% of carts outside the abandoned-cart cohort buy that item 2-47 minutes later
    SELECT user_id, occurred_at + to_seconds(60 * (2 + 3 * (h2 >> 60))::BIGINT), 5, ch, detail, cents
    FROM single WHERE ev = 3 AND NOT abandoned AND (h3 >> 60) < 5
    -- identical codes decode to identical rows, so this order is total
    ORDER BY occurred_at, user_id, ev, ch, detail, cents
)
SELECT
    user_id::BIGINT AS user_id,
    occurred_at::TIMESTAMP AS occurred_at,
    {event_names}[ev]::VARCHAR AS event_name,
    {channels}[ch]::VARCHAR AS channel,
    CASE
        WHEN ev BETWEEN 3 AND 5 THEN json_object(
            'amount', CASE WHEN cents IS NULL THEN to_json('n/a') ELSE to_json(cents / 100) END,
            'category', {catalog}[detail].category, 'product', {catalog}[detail].product,
            'sku', {catalog}[detail].sku)
        WHEN ev >= 6 THEN {course_json}[detail]
        ELSE {device_json}[detail + 1]
    END AS properties
FROM coded
"""

PAGE_VIEWS_SQL = """
CREATE OR REPLACE TABLE {page_views} AS
WITH """ + _PEOPLE + """,
slots AS (
    SELECT
        p.user_id, p.lapsed, p.signup_ago, p.end_ago, p.fav_course,
        r.j >= p.n_views AS is_winter,  -- extra winter browsing in the last ~2 months
        hash(hash($seed::BIGINT, p.user_id, r.j, 6)) AS h1,
        hash(hash($seed::BIGINT, p.user_id, r.j, 7)) AS h2,
        -- a 64-bit hash gives two independent 30-bit uniforms
        (h1 & 1073741823) / 1073741824 AS u_time,
        ((h1 >> 30) & 1073741823) / 1073741824 AS u_page,
        (h2 & 1073741823) / 1073741824 AS u_item
    FROM (
        SELECT *,
            kind = 'lapsed' AS lapsed,
            CASE WHEN kind = 'dormant' THEN (u_activity < 0.5)::BIGINT
                 ELSE 1 + floor(intensity * active_days * CASE kind WHEN 'lapsed' THEN 0.12 ELSE 0.055 END)::BIGINT
            END AS n_views,
            CASE WHEN winter_shopper THEN 2 + floor(u_winter / 0.18 * 10)::BIGINT ELSE 0 END AS n_winter
        FROM people
    ) AS p, range(p.n_views + p.n_winter) AS r(j)
),
coded AS (
    SELECT
        user_id,
        $anchor::TIMESTAMP - to_seconds(CASE
            WHEN is_winter THEN 60 * 86400 * u_time * u_time  -- skewed towards this week
            WHEN lapsed THEN end_ago + (signup_ago - end_ago) * sqrt(u_time)
            ELSE end_ago + (signup_ago - end_ago) * u_time
        END::BIGINT) AS viewed_at,
        -- page code: 1-24 catalogue item, 100 home, 101 cart, 102 checkout, 200+ blog, 300+ course
        CASE
            WHEN is_winter THEN CASE WHEN u_item < 0.5 THEN 1 + floor(u_item / 0.5 * 3)
                                     ELSE 1 + floor((u_item - 0.5) / 0.5 * 14) END
            WHEN u_page < 0.15 THEN 100
            WHEN u_page < 0.25 THEN 101
            WHEN u_page < 0.29 THEN 102
            WHEN u_page < 0.42 THEN 201 + floor(u_item * 6)
            WHEN u_page < 0.50 THEN 300 + CASE WHEN u_item < 0.5 THEN fav_course
                                               ELSE 1 + floor((u_item - 0.5) / 0.5 * 4) END
            ELSE 1 + floor(u_item * 24)
        END::INT AS page
    FROM slots
    ORDER BY viewed_at, user_id, page
)
SELECT
    user_id::BIGINT AS user_id,
    viewed_at::TIMESTAMP AS viewed_at,
    CASE
        WHEN page <= 24 THEN '/' || {catalog}[page].season || '/' || {catalog}[page].category
                             || '/' || {catalog}[page].product
        WHEN page = 100 THEN '/'
        WHEN page = 101 THEN '/cart'
        WHEN page = 102 THEN '/checkout'
        WHEN page < 300 THEN '/blog/' || {blog}[page - 200]
        ELSE '/courses/' || {courses}[page - 300]
    END::VARCHAR AS url
FROM coded
"""

MESSAGE_ACTIVITY_SQL = """
CREATE OR REPLACE TABLE {message_activity} AS
WITH """ + _PEOPLE + """,
sends AS (
    SELECT
        user_id, signup_ago, end_ago, opted_in, unsub_ago,
        -- marketing email every ~7 days while subscribed, service email every ~45 days otherwise
        CASE WHEN NOT has_email THEN 0
             WHEN opted_in THEN floor((signup_ago - coalesce(unsub_ago, 0)) / 86400 / 7 * (0.7 + 0.6 * u_engage))
             ELSE floor(signup_ago / 86400 / 45) END::BIGINT AS n_email,
        CASE WHEN has_phone AND opted_in THEN floor((signup_ago - coalesce(unsub_ago, 0)) / 86400 / 21)
             ELSE 0 END::BIGINT AS n_sms,
        CASE WHEN main_channel <> 'web' THEN floor(signup_ago / 86400 / 12) ELSE 0 END::BIGINT AS n_push,
        -- people who engage: opens per delivery and clicks per open
        0.03 + 0.45 * pow(u_engage, 1.5) AS p_open,
        0.08 + 0.30 * u_click AS p_click
    FROM people
),
deliveries AS (
    SELECT
        p.user_id, p.end_ago, p.p_open, p.p_click,
        -- medium: 1 email, 2 sms, 3 push
        CASE WHEN r.j < p.n_email THEN 1 WHEN r.j < p.n_email + p.n_sms THEN 2 ELSE 3 END AS medium,
        -- email/sms marketing stops at the unsubscribe; push and service email don't
        CASE WHEN medium = 3 OR NOT p.opted_in THEN 0 ELSE coalesce(p.unsub_ago, 0) END AS stop_ago,
        hash(hash($seed::BIGINT, p.user_id, r.j, 4)) AS h1,
        hash(hash($seed::BIGINT, p.user_id, r.j, 5)) AS h2,
        -- each 64-bit hash gives two independent 30-bit uniforms
        (stop_ago + (p.signup_ago - stop_ago) * ((h1 & 1073741823) / 1073741824))::BIGINT AS ago,
        ((h1 >> 30) & 1073741823) / 1073741824 AS u_open,
        (h2 & 1073741823) / 1073741824 AS u_click,
        ((h2 >> 30) & 1073741823) / 1073741824 AS u_delay
    FROM sends AS p, range(p.n_email + p.n_sms + p.n_push) AS r(j)
),
reactions AS (
    SELECT *,
        -- people stop reacting once they lapse; push is opened less than email
        p_open * CASE WHEN ago < end_ago THEN 0.2 ELSE 1.0 END
               * CASE WHEN medium = 3 THEN 0.6 ELSE 1.0 END AS p_open_now,
        medium <> 2 AND u_open < p_open_now AS opened,  -- sms has no opens
        CASE medium WHEN 1 THEN opened AND u_click < p_click
                    WHEN 2 THEN u_click < 0.08 ELSE false END AS clicked,  -- push has no clicks
        -- open within hours (Exp, mean 3h), click minutes later; sms clicks come like opens
        ago - (1 + 3 * 3600 * -ln(1 - u_delay))::BIGINT AS open_ago,
        CASE WHEN medium = 2 THEN open_ago
             ELSE open_ago - (30 + 600 * u_click / p_click)::BIGINT END AS click_ago
    FROM deliveries
),
actions AS (
    -- activity: 1 email_delivered, 2 email_opened, 3 email_clicked, 4 sms_delivered, 5 sms_clicked,
    --           6 push_delivered, 7 push_opened, 8 unsubscribed
    SELECT user_id, medium, ago, [1, 4, 6][medium] AS act FROM reactions
    UNION ALL  -- reactions after the anchor haven't happened yet
    SELECT user_id, medium, open_ago, [2, NULL, 7][medium] FROM reactions WHERE opened AND open_ago >= 0
    UNION ALL
    SELECT user_id, medium, click_ago, [3, 5, NULL][medium] FROM reactions WHERE clicked AND click_ago >= 0
    UNION ALL
    SELECT user_id, 1, unsub_ago, 8 FROM people WHERE unsub_ago IS NOT NULL
    UNION ALL
    -- scheduled sends already queued for the next 3 days (future-dated)
    SELECT user_id, 1, -(3600 + (hash(hash($seed::BIGINT, user_id, 'scheduled')) % 255600))::BIGINT, 1
    FROM people WHERE has_email AND opted_in AND unsub_ago IS NULL
                  AND hash(hash($seed::BIGINT, user_id, 'schedule')) % 1000 < 4
),
coded AS (
    SELECT
        user_id,
        $anchor::TIMESTAMP - to_seconds(ago) AS occurred_at,
        act,
        -- one campaign per medium and week, so everyone in a send shares it
        1 + (hash(hash($seed::BIGINT, medium, ago // 604800)) % 9)::INT AS campaign
    FROM actions
    -- campaign follows from (occurred_at, act), so this order is total
    ORDER BY occurred_at, user_id, act
)
SELECT
    user_id::BIGINT AS user_id,
    occurred_at::TIMESTAMP AS occurred_at,
    {activities}[act]::VARCHAR AS activity,
    {campaign_json}[campaign] AS properties
FROM coded
"""

DEVICES_SQL = """
CREATE OR REPLACE TABLE {devices} AS
WITH """ + _PEOPLE + """,
slots AS (
    SELECT
        p.user_id, p.signup_ago, p.end_ago, p.main_channel, r.j,
        hash(hash($seed::BIGINT, p.user_id, r.j, 'd_time'))     % 1000000000 / 1e9 AS u_time,
        hash(hash($seed::BIGINT, p.user_id, r.j, 'd_platform')) % 1000000000 / 1e9 AS u_platform,
        hash(hash($seed::BIGINT, p.user_id, r.j, 'd_version'))  % 1000000000 / 1e9 AS u_version
    FROM (
        SELECT *,
            CASE WHEN kind = 'dormant' THEN (u_devices < 0.5)::INT
                 WHEN u_devices < 0.08 THEN 0 WHEN u_devices < 0.60 THEN 1
                 WHEN u_devices < 0.90 THEN 2 ELSE 3 END AS n_devices
        FROM people
    ) AS p, range(p.n_devices) AS r(j)
)
SELECT
    user_id::BIGINT AS user_id,
    -- the main device was seen lately (days before the person's last activity)
    $anchor::TIMESTAMP - to_seconds(least(signup_ago, CASE WHEN j = 0
        THEN end_ago + 2 * 86400 * -ln(1 - u_time)
        ELSE end_ago + (signup_ago - end_ago) * u_time END)::BIGINT) AS last_seen_at,
    CASE WHEN j = 0 THEN main_channel ELSE {channels}[1 + floor(u_platform * 3)::INT] END::VARCHAR AS platform,
    CASE WHEN u_version < 0.45 THEN '3.2.1' WHEN u_version < 0.70 THEN '3.2.0' WHEN u_version < 0.85 THEN '3.1.4'
         WHEN u_version < 0.95 THEN '3.0.2' ELSE '2.9.8' END::VARCHAR AS app_version
FROM slots
ORDER BY last_seen_at, user_id, platform, app_version
"""

_LISTS = dict(
    channels=_CHANNELS, courses=_COURSES, event_names=_EVENT_NAMES, device_names=_DEVICES, blog=_BLOG,
    activities=_ACTIVITIES, catalog=_CATALOG,
    course_json=_COURSE_JSON, device_json=_DEVICE_JSON, campaign_json=_CAMPAIGN_JSON,
)

# events before users: users.last_login_at and lifetime_value are read from events.
_BUILD_ORDER = (
    ("events", EVENTS_SQL),
    ("page_views", PAGE_VIEWS_SQL),
    ("message_activity", MESSAGE_ACTIVITY_SQL),
    ("devices", DEVICES_SQL),
    ("users", USERS_SQL),
)


def _table(schema: str, name: str) -> str:
    return exp.table_(name, db=schema, quoted=True).sql("duckdb")


def generate_demo(
    con,
    *,
    people: int = 20_000,
    seed: int = 42,
    anchor: datetime.datetime,
    schema: str = "main",
) -> dict[str, int]:
    """Create (replace) the demo tables in `schema` of the DuckDB connection `con`; returns {table_name: row_count}."""
    if isinstance(people, bool) or not isinstance(people, int) or people < 0:
        raise ValueError(f"people must be a non-negative integer, got {people!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**63:
        raise ValueError(f"seed must be a 64-bit integer, got {seed!r}")
    if not isinstance(anchor, datetime.datetime):
        raise TypeError(f"anchor must be a datetime.datetime, got {type(anchor).__name__}")
    if anchor.tzinfo is not None:  # the data set is naive UTC
        anchor = anchor.astimezone(datetime.timezone.utc).replace(tzinfo=None)

    names = {t: _table(schema, t) for t in TABLES}
    con.execute("CREATE SCHEMA IF NOT EXISTS " + exp.to_identifier(schema).sql("duckdb", identify=True))
    params = {"seed": seed, "people": people, "anchor": anchor}
    for _, template in _BUILD_ORDER:
        # only constants and quoted identifiers are formatted in; values are bound
        sql = template.format(**_LISTS, **names)
        con.execute(sql, {k: v for k, v in params.items() if "$" + k in sql})
    # fetchall, not fetchone: DuckDB 2.0 keeps the connection busy until a result is drained
    return {t: con.execute("SELECT count(*) FROM " + names[t]).fetchall()[0][0] for t in TABLES}
