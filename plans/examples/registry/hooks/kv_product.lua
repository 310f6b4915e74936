-- Plan 5: a product:<n> record as a row of products.
local kv = require("hooks.kv_common")

function transform(row, ctx)
  local rec = kv.record(row)
  return {
    id = kv.uuid(row, rec, "id"),
    catalog_id = kv.parent(row, rec, "catalog_id", "catalog_found", "catalog"),
    sku = kv.text(row, rec, "sku"),
    name = kv.text(row, rec, "name"),
    price_cents = kv.integer(row, rec, "price_cents", 0),
  }
end
