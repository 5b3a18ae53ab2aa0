-- Loading a source again replaces what that source gave this community.
DELETE FROM gazetteer_entry WHERE community_id = :community_id AND source = :source
