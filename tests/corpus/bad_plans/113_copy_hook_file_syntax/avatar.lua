-- Makes an avatar from a profile.
function transform(row, ctx)
  if row.display_name = nil then
    return {user_id = row.id, name = row.username}
  end
  return {user_id = row.id, name = row.display_name}
end
