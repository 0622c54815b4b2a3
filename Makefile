# Yizhan: `make run` serves the whole platform with a demo city on SQLite;
# `make test` runs the whole suite (on PostgreSQL when DATABASE_URL says so).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

# Embedded mode for a laptop: debug on (plain HTTP), SQLite under var/.
RUN_ENV := YIZHAN_DEBUG=1

.PHONY: run test lint bench install browser fonts messages clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
	  || { echo "Python 3.11 is required (found: $(PYTHON))"; exit 1; }
	@# Debian and Ubuntu ship venv's ensurepip apart, in python3-venv.
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null \
	  || { echo "Python's venv module is missing (no ensurepip in $(PYTHON)); on Debian or Ubuntu: apt-get install python3 python3-venv make"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,distributed]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP) fonts
	@mkdir -p var
	$(RUN_ENV) $(BIN)/yizhan migrate --noinput
	$(RUN_ENV) $(BIN)/yizhan collectstatic --noinput -v0
	$(RUN_ENV) $(BIN)/yizhan demo
	$(RUN_ENV) $(BIN)/yizhan serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests; installed once, as root, from
# Debian's packages (Playwright's own browser download is not used).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "Install Debian's chromium package (apt-get install chromium) for the browser tests"; fi; \
	fi

# A CJK TrueType font for PDF certificates (AR PL UMing, a Song/Ming face
# like official documents use), and HanaMin for the rare characters in names
# that UMing lacks (CJK Extensions B to F), from Debian's packages.
fonts:
	@if [ ! -f /usr/share/fonts/truetype/arphic/uming.ttc ] \
	    || [ ! -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-arphic-uming fonts-hanazono >/dev/null; \
	  else echo "Install Debian's fonts-arphic-uming and fonts-hanazono packages for PDF certificates"; fi; \
	fi

test: $(STAMP) browser fonts
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

messages: $(STAMP)
	cd src/yizhan && ../../$(BIN)/django-admin makemessages -l en --no-obsolete && \
	  ../../$(BIN)/django-admin compilemessages -l en

clean:
	rm -rf $(VENV) var .pytest_cache
