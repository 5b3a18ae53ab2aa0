DELETE FROM community_part WHERE community_id = ANY(:ids)
