-- Plan 5: a client:<n> record as a row of clients.
local kv = require("hooks.kv_common")

function transform(row, ctx)
  local rec = kv.record(row)
  return {
    id = kv.uuid(row, rec, "id"),
    name = kv.text(row, rec, "name"),
    email = kv.email(row, rec, "email"),
    slug = kv.slug(row, rec, "slug"),
  }
end
