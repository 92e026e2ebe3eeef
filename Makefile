# teamacl — PGXS build, plus the project's own entry points:
#   make demo   install what is missing, build, install, run the demo cluster
#   make test   the same set-up, then pg_regress, isolation and TAP suites
#   make bench  the benchmark suite (not part of make test)

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

MODULE_big = teamacl
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
EXTENSION = teamacl
EXTVERSION = $(shell sed -n "s/^default_version = '\\(.*\\)'/\\1/p" $(srcdir)/teamacl.control)
# The current version's install script is generated from one source file
# per concern (sql/src), concatenated in dependency order.  Released full
# scripts and the upgrade deltas are kept as written.
SQL_SOURCES = $(addprefix sql/src/,schema.sql checks.sql tables.sql identity.sql token.sql \
	audit.sql members.sql teams.sql invitations.sql apikeys.sql passwords.sql transfer.sql rls.sql doctor.sql privileges.sql)
SQL_INSTALL = sql/teamacl--$(EXTVERSION).sql
DATA_built = $(SQL_INSTALL)
DATA = $(filter-out $(SQL_INSTALL),$(wildcard sql/teamacl--*.sql)) $(wildcard sql/teamacl--*.control)
PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
REGRESS = $(sort $(filter-out teamacl--%,$(basename $(notdir $(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=.
ISOLATION = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test
EXTRA_CLEAN = tmp results regression.diffs regression.out output_iso

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
# Without the server headers only the project targets below work; they
# install what is missing first.
all:
	@echo "PostgreSQL 15 server headers not found: run 'make demo' or 'make test' (as root) to install them" >&2
	@exit 1
endif

$(SQL_INSTALL): $(SQL_SOURCES) teamacl.control
	@for f in $(SQL_SOURCES); do cat $$f; echo; done > $@.tmp && mv $@.tmp $@

.PHONY: test demo demo-stop bench valgrind-check

test:
	bash test/scripts/run-tests.sh

demo:
	bash test/scripts/demo.sh

demo-stop:
	bash test/scripts/demo.sh stop

bench:
	bash test/bench/run.sh

valgrind-check:
	bash test/scripts/valgrind-check.sh
