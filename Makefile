# The two commands of the README. Each installs what it needs first.
.PHONY: run test cluster

run:
	sh scripts/run.sh

test:
	sh scripts/test.sh

# Three cluster nodes, a PostgreSQL and a Redis on this machine (docs/deploy.md, "A cluster").
cluster:
	sh scripts/cluster.sh
