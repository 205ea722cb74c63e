# The two commands of the README. Each installs what it needs first.
.PHONY: run test

run:
	sh scripts/run.sh

test:
	sh scripts/test.sh
