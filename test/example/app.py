#!/usr/bin/env python3
"""A small application on top of teamacl, with psycopg 3.

It plays the parts of a SaaS backend: the authentication service signs
people up, the application connects as one login role ("app") and names
the end user at the start of every transaction with teamacl.set_user() --
the pattern that is safe behind a transaction-pooling proxy.  Every
statement below is what a real application would send; the assertions
check what teamacl decides.

Usage: app.py "<libpq connection string of a superuser>" "<connection string of the app role>"
The database must have teamacl installed and an "app" role with EXECUTE on
teamacl.set_user; the script creates its own table.
"""
import sys

import psycopg

admin_dsn, app_dsn = sys.argv[1], sys.argv[2]


def check(label, ok):
    print(("ok     " if ok else "FAILED ") + label)
    if not ok:
        sys.exit(1)


class App:
    """The application server: one connection, a user per transaction."""

    def __init__(self, dsn):
        self.conn = psycopg.connect(dsn)

    def as_user(self, user_id):
        """A transaction acting for user_id (None: nobody)."""
        tx = self.conn.transaction()
        tx.__enter__()
        self.conn.execute("SELECT teamacl.set_user(%s)", (user_id,))
        return _Tx(self.conn, tx)


class _Tx:
    def __init__(self, conn, tx):
        self.conn, self.tx = conn, tx

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        return self.tx.__exit__(*exc)


with psycopg.connect(admin_dsn, autocommit=True) as admin:
    # the authentication service signs people up (register_user is privileged)
    alice = admin.execute("SELECT teamacl.register_user(%s, %s)", ("alice@example.com", "Alice")).fetchone()[0]
    bob = admin.execute("SELECT teamacl.register_user(%s, %s)", ("bob@example.com", "Bob")).fetchone()[0]
    admin.execute("DROP TABLE IF EXISTS projects")
    admin.execute("CREATE TABLE projects (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, team_id uuid NOT NULL, name text NOT NULL)")
    admin.execute("CREATE INDEX ON projects (team_id)")
    admin.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON projects TO app")
    admin.execute("SELECT teamacl.protect('projects')")

app = App(app_dsn)

# sign-up gave Alice a personal account; she creates a team
with app.as_user(alice) as db:
    team = db.execute("SELECT teamacl.create_team(%s, %s)", ("Acme", "pro")).fetchone()[0]
    db.execute("INSERT INTO projects (team_id, name) VALUES (%s, %s)", (team, "Website"))
    personal = db.execute("SELECT teamacl.personal_team()").fetchone()[0]
    db.execute("INSERT INTO projects (team_id, name) VALUES (%s, %s)", (personal, "Alice's notes"))
    # she invites Bob; the application mails him the token
    token = db.execute("SELECT teamacl.invite(%s, %s, %s)", (team, "bob@example.com", "member")).fetchone()[0]
check("invitation token returned once, recognisable", token.startswith("tacl_inv_"))

with app.as_user(bob) as db:
    seen = db.execute("SELECT count(*) FROM projects").fetchone()[0]
check("Bob sees nothing before joining", seen == 0)
with app.as_user(bob) as db:
    info = db.execute("SELECT team_name, role, status FROM teamacl.invitation_info(%s)", (token,)).fetchone()
check("the link preview shows the invitation", info == ("Acme", "member", "pending"))
with app.as_user(bob) as db:
    joined = db.execute("SELECT teamacl.accept_invitation(%s)", (token,)).fetchone()[0]
check("Bob accepts and joins the team", joined == team)

# protected CRUD as Bob: only the team's rows
with app.as_user(bob) as db:
    names = [r[0] for r in db.execute("SELECT name FROM projects ORDER BY name")]
    db.execute("INSERT INTO projects (team_id, name) VALUES (%s, %s)", (team, "Mobile app"))
    db.execute("UPDATE projects SET name = name || ' v2' WHERE name = 'Website'")
    deleted = db.execute("DELETE FROM projects WHERE name = %s RETURNING id", ("Alice's notes",)).fetchall()
check("Bob reads only the team's projects", names == ["Website"])
check("Bob cannot delete Alice's personal rows", deleted == [])
try:
    with app.as_user(bob) as db:
        db.execute("INSERT INTO projects (team_id, name) VALUES (%s, %s)", (personal, "sneaky"))
    check("Bob cannot write into Alice's personal account", False)
except psycopg.errors.InsufficientPrivilege:
    check("Bob cannot write into Alice's personal account", True)

# a mistaken token: one uniform error
try:
    with app.as_user(bob) as db:
        db.execute("SELECT teamacl.accept_invitation(%s)", (token,))
    check("a used token is refused", False)
except psycopg.errors.InvalidParameterValue as e:
    check("a used token is refused with the uniform error", "invalid or has expired" in str(e))

# removal: Bob's next transaction sees nothing; his rows stay with the team
with app.as_user(alice) as db:
    db.execute("SELECT teamacl.remove_member(%s, %s)", (team, bob))
with app.as_user(bob) as db:
    seen = db.execute("SELECT count(*) FROM projects").fetchone()[0]
check("after removal Bob sees nothing", seen == 0)
with app.as_user(alice) as db:
    names = [r[0] for r in db.execute("SELECT name FROM projects WHERE team_id = %s ORDER BY name", (team,))]
check("Bob's rows stay with the team", names == ["Mobile app", "Website v2"])

# no transaction leaks its user into the next one
with app.as_user(None) as db:
    nobody = db.execute("SELECT teamacl.current_user_id(), count(*) FROM projects").fetchone()
check("a transaction that names nobody sees nothing", nobody == (None, 0))
print("example application: all checks passed")
