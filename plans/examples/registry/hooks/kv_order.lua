-- Plan 5: an order:<n> record as a row of orders.
local kv = require("hooks.kv_common")

function transform(row, ctx)
  local rec = kv.record(row)
  return {
    id = kv.uuid(row, rec, "id"),
    employee_id = kv.parent(row, rec, "employee_id", "employee_found", "employee"),
    product_id = kv.parent(row, rec, "product_id", "product_found", "product"),
    quantity = kv.integer(row, rec, "quantity", 1),
    ordered_at = kv.text(row, rec, "ordered_at"),
  }
end
