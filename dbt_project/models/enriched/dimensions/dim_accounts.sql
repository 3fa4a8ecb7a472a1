-- B2B account hierarchy (group -> company -> brand) flattened so every account
-- knows its company and group; segment and business type from the seed.

with recursive accounts as (
    select * from {{ ref('accounts') }}
),

lineage as (
    select account_id, account_id as ancestor_id, account_level as ancestor_level, 0 as depth
    from accounts
    union all
    select lineage.account_id, parent.parent_account_id, grand.account_level, lineage.depth + 1
    from lineage
    join accounts as parent on parent.account_id = lineage.ancestor_id
    join accounts as grand on grand.account_id = parent.parent_account_id
    where lineage.depth < 10
),

ancestors as (
    select
        account_id,
        max(ancestor_id) filter (where ancestor_level = 'company') as company_id,
        max(ancestor_id) filter (where ancestor_level = 'group') as group_id
    from lineage
    group by account_id
)

select
    accounts.account_id,
    accounts.account_name,
    accounts.account_level,
    accounts.parent_account_id,
    accounts.segment,
    accounts.business_type,
    accounts.country as country_code,
    ancestors.company_id,
    company.account_name as company_name,
    ancestors.group_id,
    grp.account_name as group_name
from accounts
join ancestors using (account_id)
left join accounts as company on company.account_id = ancestors.company_id
left join accounts as grp on grp.account_id = ancestors.group_id
