-- Picks the design's source: the full image, else the thumbnail.
function transform(row, ctx)
  local url = row.image_url or row.thumbnail_url
  if url == nil then return nil end
  return {url = url, key = "designs/" .. row.id .. ".png"
end
