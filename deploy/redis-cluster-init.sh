#!/bin/sh
# One-shot set-up of the Redis Cluster of docker-compose.yml's cluster profile:
#   sh deploy/redis-cluster-init.sh HOST:PORT...
# Creates a cluster of the given nodes with one replica per master (six nodes: three masters, three
# replicas), unless they already belong to one (a second `up`, a restart): then it creates nothing.
# Either way it exits 0 once every node reports cluster_state:ok and every master has a replica
# online (the relay waits for one with --redis.min-replicas 1), and 1 if that does not happen
# within REDIS_CLUSTER_WAIT seconds (60).
set -eu

if [ "$#" -lt 6 ]; then
  echo "usage: $0 HOST:PORT... (six nodes at least: three masters, each with a replica)" >&2
  exit 2
fi
wait_seconds=${REDIS_CLUSTER_WAIT:-60}

# cli HOST:PORT ARGS...: redis-cli against that node; the reply without CRs, nothing if it does not answer.
cli() {
  host=${1%:*} port=${1##*:}
  shift
  redis-cli -h "$host" -p "$port" "$@" 2>/dev/null | tr -d '\r'
}

# field NAME: the value of NAME in the INFO-style reply on stdin.
field() {
  sed -n "s/^$1://p"
}

# A node belongs to a cluster once it knows other nodes or serves slots.
members=0
for node do
  info=$(cli "$node" cluster info)
  known=$(echo "$info" | field cluster_known_nodes)
  slots=$(echo "$info" | field cluster_slots_assigned)
  if [ -z "$known" ] || [ -z "$slots" ]; then
    echo "redis-cluster-init: $node does not answer CLUSTER INFO (down, or started without --cluster-enabled yes)" >&2
    exit 1
  fi
  if [ "$known" -gt 1 ] || [ "$slots" -gt 0 ]; then members=$((members + 1)); fi
done

if [ "$members" -eq 0 ]; then
  echo "redis-cluster-init: creating a cluster of $*"
  redis-cli --cluster create "$@" --cluster-replicas 1 --cluster-yes
else
  echo "redis-cluster-init: $members of $# nodes already belong to a cluster; creating none"
fi

# problem NODE...: prints what is not ready yet, nothing once the cluster is.
problem() {
  for node do
    info=$(cli "$node" cluster info)
    state=$(echo "$info" | field cluster_state)
    known=$(echo "$info" | field cluster_known_nodes)
    if [ "$state" != ok ]; then echo "$node: cluster_state ${state:-unknown}"; return; fi
    if [ "${known:-0}" -lt "$#" ]; then echo "$node knows ${known:-0} nodes, not the $# given"; return; fi
    replication=$(cli "$node" info replication)
    if [ "$(echo "$replication" | field role)" = master ] && ! echo "$replication" | grep -q '^slave[0-9]*:.*state=online'; then
      echo "$node: master without a replica online"
      return
    fi
  done
}

deadline=$(($(date +%s) + wait_seconds))
while :; do
  not_ready=$(problem "$@")
  if [ -z "$not_ready" ]; then
    echo "redis-cluster-init: cluster ok, every master has a replica"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "redis-cluster-init: cluster not ready after ${wait_seconds}s: $not_ready" >&2
    echo "redis-cluster-init: inspect it with: docker compose --profile cluster exec ${1%:*} redis-cli --cluster check $1" >&2
    echo "redis-cluster-init: or start over, deleting its data: docker compose --profile cluster down -v" >&2
    exit 1
  fi
  sleep 1
done
