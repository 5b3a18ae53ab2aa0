-- Store a concern once per client token. The public point is the true point snapped
-- to a :grid metre grid in the community's metric CRS: public outputs never carry
-- the true point (privacy rule 2). A retry with the same token inserts nothing.
INSERT INTO concern (public_id, tracking_token, short_code, client_token, community_id,
                     category_id, description, point, public_point, address, located_by,
                     geocode_score, status)
SELECT :public_id, :tracking_token, :short_code, :client_token, c.id, :category_id,
       :description, pt.geom,
       ST_Transform(ST_SnapToGrid(ST_Transform(pt.geom, c.metric_srid), :grid), 4326),
       :address, :located_by, :geocode_score, 'new'
FROM community c, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) pt
WHERE c.id = :community_id
ON CONFLICT (client_token) DO NOTHING
RETURNING id
