-- Plan 5: an employee:<n> record as a row of employees.
local kv = require("hooks.kv_common")

function transform(row, ctx)
  local rec = kv.record(row)
  return {
    id = kv.uuid(row, rec, "id"),
    client_id = kv.parent(row, rec, "client_id", "client_found", "client"),
    name = kv.text(row, rec, "name"),
    email = kv.email(row, rec, "email"),
  }
end
