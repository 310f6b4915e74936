-- Plan 4: the default avatar of a profile. row has the profile's id,
-- username, display_name, bio and profile_image (NULL columns are nil).

-- Default traits of every migrated avatar.
local PERSONALITY = {"friendly", "creative"}

-- s without surrounding white space, or nil when that leaves nothing.
local function present(s)
  if s == nil then return nil end
  s = text.trim(s)
  if s == "" then return nil end
  return s
end

function transform(row, ctx)
  return {
    user_id = row.id,
    name = present(row.display_name) or row.username,
    bio = present(row.bio) or ctx.params.default_bio,
    image_url = row.profile_image,
    personality = PERSONALITY,
    niche = ctx.params.default_niche,
    meta = {migrated_from = "user", user_id = row.id},
  }
end
