-- sql/src/privileges.sql
--
-- What PUBLIC may not use: the internal helpers are for teamacl's own
-- functions, which run as the extension's owner, and for its triggers and
-- policies, which need no privilege on them.  Runs last, after every
-- helper exists.  (Grants on the API and the tables are made next to each
-- object.)

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA teamacl_internal FROM PUBLIC;
