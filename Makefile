# teamacl — PGXS build, plus the project's own entry points:
#   make demo   install what is missing, build, install, run the demo cluster
#   make test   the same set-up, then pg_regress, isolation and TAP suites
#   make bench  the benchmark suite (not part of make test)
#   make test-matrix  make test in fresh Debian chroots for other majors
#
# Which PostgreSQL: PG_CONFIG=... or PG_MAJOR=... when given, else the
# distribution's default major (15 on Debian 12, 17 on Debian 13); the
# scripts behind the targets below choose the same way.

TOPDIR := $(dir $(lastword $(MAKEFILE_LIST)))
ifndef PG_CONFIG
ifndef PG_MAJOR
PG_MAJOR := $(shell bash $(TOPDIR)test/scripts/pg-major.sh --no-update)
endif
PG_CONFIG = /usr/lib/postgresql/$(PG_MAJOR)/bin/pg_config
else ifndef PG_MAJOR
PG_MAJOR := $(shell PG_CONFIG=$(PG_CONFIG) bash $(TOPDIR)test/scripts/pg-major.sh 2>/dev/null)
endif

MODULE_big = teamacl
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
EXTENSION = teamacl
EXTVERSION = $(shell sed -n "s/^default_version = '\\(.*\\)'/\\1/p" $(TOPDIR)teamacl.control)
# The current version's install script is generated from one source file
# per concern (sql/src), concatenated in dependency order.  Released full
# scripts and the upgrade deltas are kept as written.
SQL_SOURCES = $(addprefix sql/src/,schema.sql checks.sql tables.sql identity.sql token.sql \
	audit.sql members.sql teams.sql invitations.sql apikeys.sql passwords.sql transfer.sql rls.sql citus.sql doctor.sql privileges.sql)
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
	@echo "PostgreSQL $(PG_MAJOR) server headers not found ($(PG_CONFIG)): run 'make demo' or 'make test' (as root) to install them" >&2
	@exit 1
endif

$(SQL_INSTALL): $(SQL_SOURCES) teamacl.control
	@for f in $(SQL_SOURCES); do cat $$f; echo; done > $@.tmp && mv $@.tmp $@

.PHONY: test test-matrix demo demo-stop bench valgrind-check

test:
	bash test/scripts/run-tests.sh

# CELLS: Debian suites to run make test in, each in its own fresh chroot
test-matrix:
	bash test/scripts/matrix.sh $(CELLS)

demo:
	bash test/scripts/demo.sh

demo-stop:
	bash test/scripts/demo.sh stop

bench:
	bash test/bench/run.sh
	bash test/bench/api_keys.sh
	bash test/bench/citus.sh

valgrind-check:
	bash test/scripts/valgrind-check.sh
