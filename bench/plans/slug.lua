-- Case 6: the slug of a user, as lower(username) makes it in SQL.
function transform(row, ctx)
  return {slug = row.username:lower()}
end
