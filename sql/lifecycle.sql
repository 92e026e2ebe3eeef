-- Members created with a password, ownership transfer, the audit log and
-- the outbox; and a scan proving no raw token or password is stored in any
-- teamacl table or written to the server log.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
SET teamacl.password_bcrypt_cost = 4;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE TEMP TABLE secrets (what text, secret text);
CREATE ROLE regress_lifecycle_app;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_lifecycle_app;

SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'pro') AS acme \gset
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'admin') IS NOT NULL AS bob_admin;

------------------------------------------------------------------------
-- members created with a password (Upmetr "Add Member")
------------------------------------------------------------------------
INSERT INTO secrets VALUES ('password', 'Pa55word!carol'), ('password', 'N3w-secret!carol');
SELECT pg_temp.err(format('SELECT teamacl.create_member(%L, %L, %L, %L, %L)', :'acme', 'carol@example.com', 'Carol', p, 'member')) AS weak
  FROM unnest(ARRAY['Sh0rt!', 'nodigits!!', '12345678!', 'NoSpecial123', repeat('Ab1!', 19)]) p;
SELECT position('Sh0rt!' IN pg_temp.err(format('SELECT teamacl.create_member(%L, %L, %L, %L, %L)', :'acme', 'carol@example.com', 'Carol', 'Sh0rt!', 'member'))) = 0 AS password_not_echoed;
SELECT teamacl.create_member(:'acme', 'Carol@Example.com', 'Carol', 'Pa55word!carol', 'member') AS carol \gset
SELECT email, registered, sign_in_method, password_hash LIKE '$2a$04$%' AS bcrypt, password_hash <> 'Pa55word!carol' AS hashed
  FROM teamacl.users WHERE id = :'carol';
SELECT role FROM teamacl.team_members WHERE team_id = :'acme' AND user_id = :'carol';
SELECT EXISTS (SELECT 1 FROM teamacl.teams WHERE personal_owner = :'carol') AS has_personal;
SELECT pg_temp.err(format('SELECT teamacl.create_member(%L, %L, %L, %L, %L)', :'acme', 'carol@example.com', 'Carol', 'Pa55word!carol', 'member')) AS duplicate;
SELECT pg_temp.err(format('SELECT teamacl.create_member(%L, %L, %L, %L, %L)', :'acme', 'x@example.com', 'X', 'Pa55word!carol', 'owner')) AS owner_role;
-- a placeholder added by email elsewhere is claimed (same id)
SELECT teamacl.create_team('Side', 'pro') AS side \gset
SELECT teamacl.add_member(:'side', 'dora@example.com', 'viewer') AS dora_placeholder \gset
SELECT pg_temp.err(format('SELECT teamacl.create_member(%L, %L, %L, %L, %L)', :'side', 'dora@example.com', 'Dora', 'Pa55word!dora', 'viewer')) AS already_member;
SELECT teamacl.create_member(:'acme', 'dora@example.com', 'Dora', 'Pa55word!dora', 'viewer') = :'dora_placeholder' AS dora_claimed;
INSERT INTO secrets VALUES ('password', 'Pa55word!dora');
-- authenticate: same error for wrong passwords and unknown emails
SELECT teamacl.authenticate('CAROL@example.com', 'Pa55word!carol') = :'carol' AS authenticated;
SELECT pg_temp.err($$SELECT teamacl.authenticate('carol@example.com', 'wrong')$$) AS wrong_password;
SELECT pg_temp.err($$SELECT teamacl.authenticate('nobody@example.com', 'Pa55word!carol')$$) AS unknown_email;
SELECT pg_temp.err($$SELECT teamacl.authenticate('bob@example.com', 'anything')$$) AS no_password_set;
SET ROLE regress_lifecycle_app;
SELECT pg_temp.err($$SELECT teamacl.authenticate('carol@example.com', 'Pa55word!carol')$$) AS not_for_public;
RESET ROLE;
-- set_password
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.set_password('N3w-secret!carol');
SELECT pg_temp.err($$SELECT teamacl.authenticate('carol@example.com', 'Pa55word!carol')$$) AS old_password;
SELECT teamacl.authenticate('carol@example.com', 'N3w-secret!carol') = :'carol' AS new_password;
SELECT pg_temp.err($$SELECT teamacl.set_password('weak')$$) AS weak_new;
-- the strength rule is configurable
SET teamacl.password_min_length = 12;
SELECT pg_temp.err($$SELECT teamacl.set_password('Abcdef1!xyz')$$) AS eleven_chars;
SET teamacl.password_require_mix = off;
SELECT pg_temp.err($$SELECT teamacl.set_password('abcdefghijkl')$$) AS letters_only;
RESET teamacl.password_min_length;
RESET teamacl.password_require_mix;
INSERT INTO secrets VALUES ('password', 'abcdefghijkl');
-- seats apply
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Tiny', 'free') AS tiny \gset
SELECT teamacl.add_member(:'tiny', 'bob@example.com', 'member') IS NOT NULL,
	   teamacl.add_member(:'tiny', 'carol@example.com', 'member') IS NOT NULL;
SELECT pg_temp.err(format('SELECT teamacl.create_member(%L, %L, %L, %L, %L)', :'tiny', 'eve@example.com', 'Eve', 'Pa55word!eve', 'member')) AS no_seat;

------------------------------------------------------------------------
-- ownership transfer (DigitalOcean): request, confirm by the old owner,
-- accept by the new one
------------------------------------------------------------------------
SELECT teamacl.set_user(:'bob', false);
SELECT pg_temp.err(format('SELECT teamacl.request_ownership_transfer(%L, %L)', :'acme', :'carol')) AS admin_cannot;
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err(format('SELECT teamacl.request_ownership_transfer(%L, %L)', :'acme', :'alice')) AS to_self;
SELECT pg_temp.err(format('SELECT teamacl.request_ownership_transfer(%L, %L)', :'acme', '5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11')) AS not_member;
SELECT pg_temp.err(format('SELECT teamacl.request_ownership_transfer(%L, %L)', teamacl.personal_team(), :'bob')) AS personal;
SELECT teamacl.request_ownership_transfer(:'acme', :'bob') AS confirm_tok \gset
SELECT left(:'confirm_tok', 9) AS prefix, length(:'confirm_tok') AS len;
SELECT pg_temp.err(format('SELECT teamacl.request_ownership_transfer(%L, %L)', :'acme', :'carol')) AS second_request;
SELECT teamacl.set_user(:'bob', false);
SELECT pg_temp.err(format('SELECT teamacl.confirm_ownership_transfer(%L)', :'confirm_tok')) AS bob_cannot_confirm;
SELECT pg_temp.err($$SELECT teamacl.confirm_ownership_transfer('tacl_xfr_nope')$$) AS unknown_token;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.confirm_ownership_transfer(:'confirm_tok') AS accept_tok \gset
SELECT :'accept_tok' <> :'confirm_tok' AS different_tokens;
SELECT pg_temp.err(format('SELECT teamacl.confirm_ownership_transfer(%L)', :'confirm_tok')) AS confirm_twice;
SELECT pg_temp.err(format('SELECT teamacl.accept_ownership_transfer(%L)', :'accept_tok')) AS alice_cannot_accept;
SELECT teamacl.set_user(:'bob', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_ownership_transfer(%L)', :'confirm_tok')) AS wrong_kind;
SELECT teamacl.accept_ownership_transfer(:'accept_tok');
SELECT email, role FROM teamacl.team_members WHERE team_id = :'acme' ORDER BY email;
SELECT pg_temp.err(format('SELECT teamacl.accept_ownership_transfer(%L)', :'accept_tok')) AS accept_twice;
INSERT INTO secrets VALUES ('token', :'confirm_tok'), ('token', :'accept_tok');
-- keep_ownership: both stay owners
SELECT teamacl.request_ownership_transfer(:'acme', :'carol', keep_ownership => true) AS c2 \gset
SELECT teamacl.confirm_ownership_transfer(:'c2') AS a2 \gset
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.accept_ownership_transfer(:'a2');
SELECT email, role FROM teamacl.team_members WHERE team_id = :'acme' ORDER BY email;
INSERT INTO secrets VALUES ('token', :'c2'), ('token', :'a2');
-- cancel, and expiry
SELECT teamacl.request_ownership_transfer(:'acme', :'alice') AS c3 \gset
SELECT teamacl.cancel_ownership_transfer(:'acme');
SELECT pg_temp.err(format('SELECT teamacl.confirm_ownership_transfer(%L)', :'c3')) AS cancelled;
SELECT pg_temp.err(format('SELECT teamacl.cancel_ownership_transfer(%L)', :'acme')) AS nothing_open;
SELECT teamacl.request_ownership_transfer(:'acme', :'alice') AS c4 \gset
UPDATE teamacl.ownership_transfers SET expires_at = now() - interval '1 minute' WHERE status = 'requested';
SELECT pg_temp.err(format('SELECT teamacl.confirm_ownership_transfer(%L)', :'c4')) AS expired;
INSERT INTO secrets VALUES ('token', :'c3'), ('token', :'c4');

------------------------------------------------------------------------
-- tokens issued for the scan
------------------------------------------------------------------------
SELECT teamacl.invite(:'acme', 'frank@example.com') AS inv1 \gset
SELECT teamacl.resend_invitation((SELECT id FROM teamacl.invitations WHERE email = 'frank@example.com')) AS inv2 \gset
INSERT INTO secrets VALUES ('token', :'inv1'), ('token', :'inv2');

------------------------------------------------------------------------
-- the audit log
------------------------------------------------------------------------
SELECT teamacl.set_user(:'alice', false);
CREATE TABLE audited (id int, team_id uuid);
SELECT teamacl.protect('audited');
SELECT teamacl.unprotect('audited');
SELECT teamacl.update_team(:'acme', name => 'Acme Inc');
SELECT teamacl.set_plan(:'acme', 'enterprise');
SELECT teamacl.create_role('auditor', '{team.read,audit.read}', :'acme') IS NOT NULL AS auditor_role;
SELECT action, actor = :'alice' AS by_alice FROM teamacl.audit_log
 WHERE team_id = :'acme' AND id > (SELECT max(id) - 6 FROM teamacl.audit_log) ORDER BY id;
SELECT action, count(*) FROM teamacl.audit_log GROUP BY action ORDER BY action;
-- readable through RLS by holders of audit.read only
SET ROLE regress_lifecycle_app;
SELECT teamacl.set_user(:'alice', false);
SELECT count(*) > 0 AS owner_reads_audit FROM teamacl.audit_log WHERE team_id = :'acme';
SELECT teamacl.set_user(:'bob', false);
SELECT count(*) > 0 AS admin_reads_audit FROM teamacl.audit_log WHERE team_id = :'acme';
SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'dora@example.com'), false);
SELECT count(*) AS viewer_reads_audit FROM teamacl.audit_log;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
-- append-only, even with table privileges; a superuser may
GRANT UPDATE, DELETE, TRUNCATE ON teamacl.audit_log TO regress_lifecycle_app;
SELECT count(*) AS audit_rows FROM teamacl.audit_log \gset
SET ROLE regress_lifecycle_app;
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err('UPDATE teamacl.audit_log SET action = ''x''') AS plain_update;
SELECT pg_temp.err('DELETE FROM teamacl.audit_log') AS plain_delete;
SELECT pg_temp.err('TRUNCATE teamacl.audit_log') AS plain_truncate;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
SELECT count(*) = :audit_rows AS audit_unchanged, count(*) FILTER (WHERE action = 'x') AS rewritten FROM teamacl.audit_log;
-- the trigger refuses even where row-level security would let it through
ALTER TABLE teamacl.audit_log DISABLE ROW LEVEL SECURITY;
SET ROLE regress_lifecycle_app;
SELECT pg_temp.err('UPDATE teamacl.audit_log SET action = ''x''') AS plain_update_no_rls;
SELECT pg_temp.err('DELETE FROM teamacl.audit_log') AS plain_delete_no_rls;
RESET ROLE;
ALTER TABLE teamacl.audit_log ENABLE ROW LEVEL SECURITY;
REVOKE UPDATE, DELETE, TRUNCATE ON teamacl.audit_log FROM regress_lifecycle_app;
SELECT pg_temp.err('UPDATE teamacl.audit_log SET target = target WHERE id = 1') AS superuser_update;
-- rows outlive a deleted team
SELECT count(*) AS tiny_rows_before FROM teamacl.audit_log WHERE team_id = :'tiny' \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.delete_team(:'tiny');
SELECT count(*) >= :tiny_rows_before AS rows_outlive_team FROM teamacl.audit_log WHERE team_id = :'tiny';
SELECT count(*) AS deleted_logged FROM teamacl.audit_log WHERE team_id = :'tiny' AND action = 'team.deleted';

------------------------------------------------------------------------
-- the outbox
------------------------------------------------------------------------
SELECT event, array(SELECT jsonb_object_keys(payload) ORDER BY 1) AS keys FROM teamacl.outbox ORDER BY id;
SELECT has_table_privilege('regress_lifecycle_app', 'teamacl.outbox', 'SELECT') AS public_reads_outbox;
-- (NOTIFY teamacl_outbox at commit is shown by the outbox_notify isolation spec)

------------------------------------------------------------------------
-- no raw token or password anywhere
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.scan() RETURNS TABLE (what text, hits bigint) LANGUAGE plpgsql AS $f$
DECLARE
	v_rel regclass;
	v_all text := '';
	v_part text;
	v_log text := '';
BEGIN
	FOR v_rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'teamacl'::regnamespace AND c.relkind = 'r' LOOP
		EXECUTE format('SELECT coalesce(string_agg(t::text, E''\n''), '''') FROM %s t', v_rel) INTO v_part;
		v_all := v_all || v_part;
	END LOOP;
	IF (SELECT count(*) FROM pg_ls_dir('.') f WHERE f = 'server.log') = 1 THEN
		v_log := pg_read_file('server.log');
	ELSIF current_setting('logging_collector')::boolean THEN
		SELECT coalesce(string_agg(pg_read_file(current_setting('log_directory') || '/' || f), ''), '')
		  INTO v_log FROM pg_ls_dir(current_setting('log_directory')) f;
	END IF;
	RETURN QUERY
	SELECT s.what, count(*) FILTER (WHERE position(s.secret IN v_all) > 0 OR position(s.secret IN v_log) > 0)
	  FROM secrets s GROUP BY s.what ORDER BY s.what;
END $f$;
-- a control: a value that is stored must be found
INSERT INTO secrets VALUES ('control (must be found)', 'frank@example.com');
SELECT * FROM pg_temp.scan();
SELECT count(*) AS secrets_checked FROM secrets;

SELECT teamacl.set_user(NULL, false);
DROP TABLE audited;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP OWNED BY regress_lifecycle_app;
DROP ROLE regress_lifecycle_app;
