-- Plan 5: a catalog:<n> record as a row of catalogs.
local kv = require("hooks.kv_common")

function transform(row, ctx)
  local rec = kv.record(row)
  return {
    id = kv.uuid(row, rec, "id"),
    client_id = kv.parent(row, rec, "client_id", "client_found", "client"),
    name = kv.text(row, rec, "name"),
    slug = kv.slug(row, rec, "slug"),
  }
end
