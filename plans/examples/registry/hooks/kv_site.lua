-- Plan 5: a site:<n> record as a row of sites; launch_date is optional.
local kv = require("hooks.kv_common")

function transform(row, ctx)
  local rec = kv.record(row)
  return {
    id = kv.uuid(row, rec, "id"),
    client_id = kv.parent(row, rec, "client_id", "client_found", "client"),
    name = kv.text(row, rec, "name"),
    slug = kv.slug(row, rec, "slug"),
    launch_date = rec.launch_date,
  }
end
