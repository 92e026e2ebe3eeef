/* sql/teamacl--0.3--0.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION teamacl UPDATE TO '0.4'" to load this file. \quit

------------------------------------------------------------------------
-- 0.4: many users behind a pooler, and Citus.
--
-- Functions whose body changes are renamed, created anew and dropped, and
-- the privileges a DBA gave the old one are carried over to the new one
-- (as in the 0.2--0.3 script).
------------------------------------------------------------------------
