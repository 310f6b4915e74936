-- Cases 1, 7 and 8: the avatar of a user. The same transform in SQL is
-- AVATAR_SQL in bench/run.sh.
function transform(row, ctx)
  return {
    user_id = row.id,
    name = row.display_name or row.username,
    bio = row.bio,
    image_url = row.profile_image,
    meta = {src = "users", user = row.username, has_bio = row.bio ~= nil},
  }
end
