-- Plan 5: checks shared by the kv_store hooks (require("hooks.kv_common")).
-- Each raises error(reason, 0) for a bad record, so the reject reason in
-- planrun.rejects starts with the record's key instead of a file position.
local M = {}

-- How a value reads in a reason: strings quoted, anything else as JSON.
local function shown(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  return json.encode(v)
end

-- The record's JSON object.
function M.record(row)
  local ok, value = pcall(json.decode, row.value)
  if not ok or type(value) ~= "table" then
    error(row.key .. ": value is not a JSON object", 0)
  end
  return value
end

-- A required text field: NUL bytes removed, white space runs made one space.
function M.text(row, rec, field)
  local v = rec[field]
  if type(v) == "string" then v = text.normalize_whitespace(text.strip_nul(v)) end
  if not check.non_empty(v) then
    error(row.key .. ": missing required field '" .. field .. "'", 0)
  end
  return v
end

-- A required uuid field, in lower case.
function M.uuid(row, rec, field)
  local v = rec[field]
  if not check.uuid(v) then error(row.key .. ": " .. field .. " is not a uuid: " .. shown(v), 0) end
  return string.lower(v)
end

-- A required email field, in lower case.
function M.email(row, rec, field)
  local v = M.text(row, rec, field)
  if not check.email(v) then error(row.key .. ": invalid email " .. shown(v), 0) end
  return string.lower(v)
end

-- A required slug field.
function M.slug(row, rec, field)
  local v = M.text(row, rec, field)
  if not check.slug(v) then
    error(row.key .. ": invalid slug " .. shown(v) .. " (a slug looks like '" ..
          text.slugify(v) .. "')", 0)
  end
  return v
end

-- A required integer field of at least `min`.
function M.integer(row, rec, field, min)
  local v = rec[field]
  if math.type(v) ~= "integer" or v < min then
    error(row.key .. ": " .. field .. " must be an integer of at least " .. min .. ", got " ..
          shown(v), 0)
  end
  return v
end

-- A reference to a row of an earlier copy: the query's `found` column says
-- whether the parent exists (it was rejected, or never was, otherwise).
function M.parent(row, rec, field, found, what)
  local id = M.uuid(row, rec, field)
  if not row[found] then error(row.key .. ": " .. what .. " " .. id .. " does not exist", 0) end
  return id
end

return M
