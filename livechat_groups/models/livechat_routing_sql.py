"""The routing decision, as two PostgreSQL functions made by ``livechat.routing.init``.

They live in the database so that PostgreSQL plans the decision once per connection, not at
each new session (planning the statement costs more than running it), and so that a routing
that finds its best operator taken tries the next one without a round trip. The rules they
apply are named in ``livechat.routing._rank_operators``.
"""

# The members of the groups, by hand and through their tied user groups.
MEMBERSHIP = """
    membership AS (
        SELECT r.group_id, r.user_id
          FROM livechat_group_res_users_rel r
         WHERE r.group_id = ANY(open_ids || closed_ids)
         UNION ALL
        SELECT t.group_id, r.uid
          FROM livechat_group_res_groups_rel t
    CROSS JOIN LATERAL (SELECT r.uid FROM res_groups_users_rel r  -- on its index, not a whole scan
                         WHERE r.gid = t.res_group_id OFFSET 0) r
         WHERE t.group_id = ANY(open_ids || closed_ids)
    )"""

# Each member's facts (user, presence, load; partner and settings for the ranking), read in one
# of two ways. The plan is made once for any number of members, so the statement says which:
# one index lookup per member and fact ("few"), fastest up to a few hundred members, or one pass
# over each table joined by hash ("many"), with the load counted in one pass over the partial
# index of open sessions, fastest beyond.
FEW = {
    "member": """
    member AS (
        -- active internal users; a member counts in the first open group they belong to
        SELECT m.user_id, u.partner_id, m.position
          FROM (SELECT m.user_id, min(array_position(open_ids, m.group_id)) AS position
                  FROM membership m
              GROUP BY m.user_id) m
    CROSS JOIN LATERAL (SELECT u.partner_id FROM res_users u
                         WHERE u.id = m.user_id AND u.active AND NOT u.share OFFSET 0) u
         WHERE NOT m.user_id = ANY(excluded)
    ),
    candidate AS MATERIALIZED (
        -- available: online, in an open group; their load: open sessions across all live chats
        SELECT m.user_id, m.partner_id, m.position, l.open_sessions AS load,
               capacity = 0 OR l.open_sessions < capacity AS below_capacity
          FROM member m
    CROSS JOIN LATERAL (SELECT count(*) AS open_sessions FROM discuss_channel c
                         WHERE c.livechat_operator_id = m.partner_id
                           AND c.livechat_routing_state = 'assigned' AND c.channel_type = 'livechat') l
         WHERE m.position IS NOT NULL
           AND (SELECT b.status FROM bus_presence b WHERE b.user_id = m.user_id) = 'online'
    )""",
    "operator": """
    CROSS JOIN LATERAL (SELECT p.lang, p.country_id, p.name FROM res_partner p
                         WHERE p.id = c.partner_id OFFSET 0) p
     LEFT JOIN LATERAL (SELECT s.id, s.livechat_last_assigned_date, s.livechat_username
                          FROM res_users_settings s WHERE s.user_id = c.user_id OFFSET 0) s ON TRUE""",
}
MANY = {
    "member": """
    member AS (
        -- active internal users; a member counts in the first open group they belong to
        SELECT u.id AS user_id, u.partner_id, min(array_position(open_ids, m.group_id)) AS position
          FROM membership m
          JOIN res_users u ON u.id = m.user_id
         WHERE u.active AND NOT u.share AND NOT u.id = ANY(excluded)
      GROUP BY u.id
    ),
    load AS (
        -- open sessions across all live chats
        SELECT c.livechat_operator_id AS partner_id, count(*) AS open_sessions
          FROM discuss_channel c
         WHERE c.livechat_routing_state = 'assigned' AND c.channel_type = 'livechat'
      GROUP BY c.livechat_operator_id
    ),
    candidate AS MATERIALIZED (
        -- available: online, in an open group
        SELECT m.user_id, m.partner_id, m.position, COALESCE(l.open_sessions, 0) AS load,
               capacity = 0 OR COALESCE(l.open_sessions, 0) < capacity AS below_capacity
          FROM member m
          JOIN bus_presence b ON b.user_id = m.user_id AND b.status = 'online'
     LEFT JOIN load l ON l.partner_id = m.partner_id
         WHERE m.position IS NOT NULL
    )""",
    "operator": """
          JOIN res_partner p ON p.id = c.partner_id
     LEFT JOIN res_users_settings s ON s.user_id = c.user_id""",
}

# One row per open group ("position": how many members below and at capacity), one per ranked
# candidate ("candidate", with their settings row, partner, name and live chat name, which the
# session's values read of the chosen one), the one claimed ("claimed") and the members outside
# business hours ("closed").
STATEMENT = """
    WITH {membership},{member},
    ranked AS MATERIALIZED (
        -- the best first: the previous operator, the group's order, the least busy, the
        -- visitor's language, their country, the longest idle; partners and settings are read
        -- for those below capacity only
        SELECT best.*,
               row_number() OVER (ORDER BY best.user_id = previous DESC, best.position, best.load,
                                  best.speaks DESC, best.same_country DESC, best.idle_since NULLS FIRST,
                                  best.user_id) AS rank
          FROM (SELECT c.user_id, c.position, c.load,
                       visitor_lang <> '' AND (p.lang = visitor_lang OR s.id IN (
                           SELECT r.res_users_settings_id FROM res_lang_res_users_settings_rel r
                             JOIN res_lang l ON l.id = r.res_lang_id
                            WHERE l.code = visitor_lang)) IS TRUE AS speaks,
                       p.country_id = visitor_country IS TRUE AS same_country,
                       s.livechat_last_assigned_date AS idle_since,
                       s.id AS settings_id, c.partner_id, p.name, s.livechat_username
                  FROM candidate c{operator}
                 WHERE c.below_capacity
              ORDER BY c.user_id = previous DESC, c.position, c.load, speaks DESC, same_country DESC,
                       idle_since NULLS FIRST, c.user_id
                 LIMIT ranked_count) best
    )
    SELECT 'position', c.position, count(*) FILTER (WHERE c.below_capacity),
           count(*) FILTER (WHERE NOT c.below_capacity), NULL::int, NULL::bool, NULL::bool,
           NULL::int, NULL::int, NULL::varchar, NULL::varchar
      FROM candidate c
  GROUP BY c.position
     UNION ALL
    SELECT 'candidate', r.position, r.load, r.rank, r.user_id, r.speaks, r.same_country,
           r.settings_id, r.partner_id, r.name, r.livechat_username
      FROM ranked r
     UNION ALL
    SELECT 'claimed', NULL, NULL, NULL,
           livechat_groups_claim_operator(ARRAY(SELECT r.user_id FROM ranked r ORDER BY r.rank)),
           NULL, NULL, NULL, NULL, NULL, NULL
     UNION ALL
    SELECT 'closed', NULL, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM member m
     WHERE m.position IS NULL"""

# The result's columns and arguments changed since the first version: the old ones are dropped.
RANK_OPERATORS = f"""
DROP FUNCTION IF EXISTS livechat_groups_rank_operators(int[], int[], int[], varchar, int, int, int, int);
DROP FUNCTION IF EXISTS livechat_groups_rank_operators(int[], int[], int[], varchar, int, int, int, int, int);
CREATE FUNCTION livechat_groups_rank_operators(
    open_ids int[], closed_ids int[], excluded int[], visitor_lang varchar, visitor_country int,
    capacity int, previous int, ranked_count int, few_members int
) RETURNS TABLE (
    row_kind text, row_position int, row_count bigint, row_rank bigint, row_user_id int,
    row_speaks bool, row_same_country bool, row_settings_id int, row_partner_id int,
    row_name varchar, row_username varchar
) LANGUAGE plpgsql VOLATILE
-- one plan per connection: planning this statement costs more than running it
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    members bigint;
BEGIN
    -- how many memberships, counted no further than needed to choose
    WITH {MEMBERSHIP} SELECT count(*) INTO members FROM (SELECT FROM membership LIMIT few_members + 1) m;
    IF members <= few_members THEN
        RETURN QUERY {STATEMENT.format(membership=MEMBERSHIP, **FEW)};
    ELSE
        RETURN QUERY {STATEMENT.format(membership=MEMBERSHIP, **MANY)};
    END IF;
END;
$$
"""

# The claim on an operator: a lock on their settings row, which every hand-over writes
# (livechat.routing._mark_served). Routings running at once skip the rows locked
# now, so a burst spreads over the operators. A row written since this transaction began means
# that someone has just given them a session that this transaction cannot see: the lock fails
# with a serialization failure, caught here in a subtransaction, and the next one is tried. So a
# claimed operator's load, as read in this transaction, is exact: nobody goes above capacity,
# and no request is retried for it. An operator who is online has a settings row: their web
# client made it.
CLAIM_OPERATOR = """
CREATE OR REPLACE FUNCTION livechat_groups_claim_operator(user_ids int[]) RETURNS int
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    candidate int;
BEGIN
    FOREACH candidate IN ARRAY user_ids LOOP
        BEGIN
            PERFORM 1 FROM res_users_settings WHERE user_id = candidate FOR NO KEY UPDATE SKIP LOCKED;
            IF FOUND THEN
                RETURN candidate;
            END IF;
        EXCEPTION WHEN serialization_failure THEN
            NULL;
        END;
    END LOOP;
    RETURN NULL;
END;
$$
"""
