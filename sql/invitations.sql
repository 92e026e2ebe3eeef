-- Invitations: tokens, lifetimes, accept/decline/resend/revoke/delete,
-- statuses, seats, secure sign-in, auto-add of registered users.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql

SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT teamacl.register_user('vic@example.com', 'Vic') AS vic \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'free') AS acme \gset
SELECT teamacl.add_member(:'acme', 'vic@example.com', 'viewer') IS NOT NULL AS vic_viewer;

-- invite: the token, shown once
SELECT teamacl.invite(:'acme', 'Bob@Example.com', 'member') AS bob_tok \gset
SELECT left(:'bob_tok', 9) AS prefix, length(:'bob_tok') AS len, :'bob_tok' ~ '^tacl_inv_[A-Za-z0-9_-]{43}$' AS url_safe;
SELECT email, role, status, expires_at - created_at AS lifetime FROM teamacl.team_invitations ORDER BY email;
SELECT token_hash = teamacl_internal._hash_token(:'bob_tok') AS only_hash_stored, octet_length(token_hash) AS hash_bytes
  FROM teamacl.invitations WHERE email = 'bob@example.com';
-- error paths
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', :'acme', 'bob@example.com'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', :'acme', 'vic@example.com'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L, %L)', :'acme', 'x@example.com', 'owner'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L, %L)', :'acme', 'x@example.com', 'nope'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', :'acme', 'bad email'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', teamacl.personal_team(), 'x@example.com'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L, valid_for => %L)', :'acme', 'x@example.com', '0'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L, valid_for => %L)', :'acme', 'x@example.com', '-1 day'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L, valid_for => %L)', :'acme', 'x@example.com', '400 days'));
SELECT teamacl.set_user(:'vic', false);
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', :'acme', 'x@example.com'));
SELECT teamacl.set_user(:'alice', false);
-- seats: owner + vic + bob's pending invitation = 3 of the free plan's 3
SELECT teamacl.seats_used(:'acme');
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', :'acme', 'x@example.com'));
-- a direct add of someone already invited takes the invitation's seat: on
-- a full team it succeeds, and the invitation is used up
SELECT teamacl.create_team('Full', 'free') AS full_team \gset
SELECT teamacl.add_member(:'full_team', 'vic@example.com', 'member') IS NOT NULL AS vic_added;
SELECT teamacl.invite(:'full_team', 'xena@example.com', 'member') AS xena_tok \gset
SELECT teamacl.seats_used(:'full_team') AS full_seats;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'full_team', 'yan@example.com', 'viewer'));
SELECT teamacl.add_member(:'full_team', 'xena@example.com', 'viewer') IS NOT NULL AS xena_added;
SELECT teamacl.seats_used(:'full_team') AS full_seats_after;
SELECT status FROM teamacl.invitation_info(:'xena_tok');
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'xena_tok'));
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'full_team', 'yan@example.com', 'viewer'));
SELECT teamacl.delete_team(:'full_team');

-- invitation_info does not use the token up
SELECT team_name, role, email, status FROM teamacl.invitation_info(:'bob_tok');
SELECT team_name, role, email, status FROM teamacl.invitation_info(:'bob_tok');
-- one error for every token that cannot be used
SELECT DISTINCT e FROM (VALUES
	(pg_temp.err($$SELECT teamacl.accept_invitation('tacl_inv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$)),
	(pg_temp.err($$SELECT teamacl.accept_invitation('garbage')$$)),
	(pg_temp.err($$SELECT teamacl.accept_invitation('')$$)),
	(pg_temp.err($$SELECT teamacl.accept_invitation(NULL)$$)),
	(pg_temp.err($$SELECT * FROM teamacl.invitation_info('garbage')$$))) v(e);
-- the email must match
SELECT teamacl.set_user(:'carol', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'bob_tok'));
-- accept
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.accept_invitation(:'bob_tok') = :'acme' AS bob_joined;
SELECT role FROM teamacl.team_members WHERE team_id = :'acme' AND user_id = :'bob';
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'bob_tok')) AS used_again;
SELECT status FROM teamacl.invitation_info(:'bob_tok');

-- more seats: upgrade; set_plan needs billing.manage and refuses to shrink below use
SELECT pg_temp.err(format('SELECT teamacl.set_plan(%L, %L)', :'acme', 'pro'));
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err(format('SELECT teamacl.set_plan(%L, %L)', :'acme', 'platinum'));
SELECT teamacl.set_plan(:'acme', 'pro');

-- lifetimes: 48 hours (UP42), a team default, the setting
SELECT teamacl.invite(:'acme', 'carol@example.com', 'viewer', valid_for => '48 hours') AS carol_tok \gset
SELECT expires_at - created_at AS carol_lifetime FROM teamacl.invitations WHERE email = 'carol@example.com';
SELECT teamacl.update_team(:'acme', invitation_validity => '2 days');
SELECT teamacl.invite(:'acme', 'dan@example.com') AS dan_tok \gset
SELECT expires_at - created_at AS team_default FROM teamacl.invitations WHERE email = 'dan@example.com';
SELECT pg_temp.err(format('SELECT teamacl.update_team(%L, invitation_validity => %L)', :'acme', '0'));

-- decline
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.decline_invitation(:'carol_tok');
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'carol_tok')) AS after_decline;

-- expiry, resend (fresh token and expiry; the old token dies), revoke, delete
SELECT teamacl.set_user(:'alice', false);
UPDATE teamacl.invitations SET expires_at = now() - interval '1 minute' WHERE email = 'dan@example.com';
SELECT email, status FROM teamacl.team_invitations ORDER BY email;
SELECT teamacl.register_user('dan@example.com', 'Dan') AS dan \gset
SELECT teamacl.set_user(:'dan', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'dan_tok')) AS expired;
SELECT teamacl.set_user(:'alice', false);
SELECT id AS dan_inv FROM teamacl.invitations WHERE email = 'dan@example.com' \gset
SELECT teamacl.resend_invitation(:'dan_inv') AS dan_tok2 \gset
SELECT :'dan_tok2' <> :'dan_tok' AS new_token, expires_at > now() + interval '47 hours' AS fresh_expiry
  FROM teamacl.invitations WHERE id = :'dan_inv';
SELECT teamacl.resend_invitation(:'dan_inv') AS dan_tok3 \gset
SELECT teamacl.set_user(:'dan', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'dan_tok2')) AS superseded;
SELECT teamacl.accept_invitation(:'dan_tok3') = :'acme' AS dan_joined;
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err(format('SELECT teamacl.resend_invitation(%L)', :'dan_inv')) AS resend_accepted;
SELECT pg_temp.err(format('SELECT teamacl.revoke_invitation(%L)', :'dan_inv')) AS revoke_accepted;
SELECT teamacl.invite(:'acme', 'erin@example.com') AS erin_tok \gset
SELECT id AS erin_inv FROM teamacl.invitations WHERE email = 'erin@example.com' \gset
SELECT teamacl.revoke_invitation(:'erin_inv');
SELECT pg_temp.err(format('SELECT teamacl.resend_invitation(%L)', :'erin_inv')) AS resend_revoked;
SELECT teamacl.register_user('erin@example.com') AS erin \gset
SELECT teamacl.set_user(:'erin', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'erin_tok')) AS revoked;
SELECT teamacl.set_user(:'alice', false);
SELECT email, status FROM teamacl.team_invitations ORDER BY email;
SELECT teamacl.delete_invitation(:'erin_inv');
SELECT count(*) AS erin_rows FROM teamacl.invitations WHERE email = 'erin@example.com';
SELECT pg_temp.err(format('SELECT teamacl.delete_invitation(%L)', :'erin_inv'));
-- another team's owner cannot manage these invitations
SELECT teamacl.set_user(:'erin', false);
SELECT pg_temp.err(format('SELECT teamacl.revoke_invitation(%L)', :'dan_inv'));
SELECT count(*) AS erin_sees_invitations FROM teamacl.team_invitations;

-- added directly while invited: the direct add uses the invitation up (it
-- is accepted, its token dead) and the person takes one seat, not two
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.register_user('fay@example.com') AS fay \gset
SELECT teamacl.invite(:'acme', 'fay@example.com', 'member') AS fay_tok \gset
SELECT teamacl.seats_used(:'acme') AS seats_with_fay_invited;
SELECT teamacl.add_member(:'acme', 'fay@example.com', 'viewer') IS NOT NULL AS fay_added;
SELECT teamacl.seats_used(:'acme') AS seats_with_fay_added;
SELECT status FROM teamacl.team_invitations WHERE email = 'fay@example.com';
SELECT teamacl.set_user(:'fay', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'fay_tok'));
SELECT role FROM teamacl.team_members WHERE team_id = :'acme' AND user_id = :'fay';
SELECT status FROM teamacl.invitation_info(:'fay_tok');

-- the inviter's standing is re-checked at accept time
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.change_role(:'acme', :'bob', 'admin');
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.invite(:'acme', 'gus@example.com', 'member') AS gus_tok \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.change_role(:'acme', :'bob', 'viewer');
SELECT teamacl.register_user('gus@example.com') AS gus \gset
SELECT teamacl.set_user(:'gus', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'gus_tok')) AS inviter_demoted;

-- the seat limit is re-checked at accept time
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.invite(:'acme', 'hal@example.com') AS hal_tok \gset
SELECT teamacl.register_user('hal@example.com') AS hal \gset
UPDATE teamacl.plans SET seat_limit = 3 WHERE name = 'pro';
SELECT teamacl.set_user(:'hal', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'hal_tok')) AS over_limit;
UPDATE teamacl.plans SET seat_limit = 10 WHERE name = 'pro';

-- secure sign-in: a team that requires it accepts only compliant users,
-- and non-compliant members hold nothing there (nothing is deleted)
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.set_sign_in_method(:'alice', 'password_2fa');
SELECT teamacl.update_team(:'acme', require_secure_sign_in => true);
SELECT teamacl.set_user(:'hal', false);
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'hal_tok')) AS insecure;
SELECT teamacl.set_sign_in_method(:'hal', 'password_2fa');
SELECT teamacl.accept_invitation(:'hal_tok') = :'acme' AS secure_accept;
SELECT teamacl.set_user(:'vic', false);
SELECT teamacl.permissions(:'acme') AS vic_noncompliant;
SELECT teamacl.set_sign_in_method(:'vic', 'google');
SELECT teamacl.permissions(:'acme') AS vic_compliant;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.update_team(:'acme', require_secure_sign_in => false);

-- auto-add: a registered email joins at once (the Upmetr document)
SELECT teamacl.update_team(:'acme', auto_add_registered => true);
SELECT teamacl.register_user('ivy@example.com') AS ivy \gset
SELECT teamacl.invite(:'acme', 'ivy@example.com', 'viewer') IS NULL AS no_token_needed;
SELECT role FROM teamacl.team_members WHERE team_id = :'acme' AND user_id = :'ivy';
SELECT teamacl.invite(:'acme', 'newcomer@example.com', 'viewer') IS NOT NULL AS token_for_unregistered;

-- statuses are visible to members with team.read, not to other teams
SELECT email, role, status FROM teamacl.team_invitations WHERE team_id = :'acme' ORDER BY email;
SELECT teamacl.set_user(:'gus', false);
SELECT count(*) AS outsider_sees FROM teamacl.team_invitations;

SELECT teamacl.set_user(NULL, false);
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
