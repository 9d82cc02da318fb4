#!/bin/sh
# Writes rabbitmq.conf from the official image's variables on every start, then runs the broker in the foreground.
set -eu
{
  echo "loopback_users = none"
  echo "listeners.tcp.default = 5672"
  echo "log.console = true"
  echo "log.console.level = info"
  echo "log.file = false"
  echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
  echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
  echo "default_vhost = ${RABBITMQ_DEFAULT_VHOST:-/}"
} >"$RABBITMQ_CONFIG_FILE"
plugins=$(echo "${RABBITMQ_PLUGINS:-}" | tr ', ' '\n\n' | sed '/^$/d' | paste -sd, -)
echo "[${plugins}]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
if [ "$1" = rabbitmq-server ]; then
  exec /usr/lib/rabbitmq/bin/rabbitmq-server
fi
exec "$@"
