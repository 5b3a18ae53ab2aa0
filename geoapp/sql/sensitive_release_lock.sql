-- One releaser per community at a time (two first visitors must not release twice); held
-- to the end of the transaction.  8118 marks this lock among the app's advisory locks.
SELECT pg_advisory_xact_lock(8118, :community_id)
