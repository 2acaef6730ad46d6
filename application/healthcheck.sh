#!/bin/bash
# Container health probe: exit 0 when GET /healthz on 127.0.0.1:$FINLEX_PORT answers 200.
#
# Used by the Dockerfile's HEALTHCHECK and the ECS task definition's healthCheck.
# Bash and its /dev/tcp, not Python: the probe runs inside the task's CPU share,
# and a Python probe spent 74 ms of CPU per run (interpreter start and urllib's
# imports) where this one spends 17 ms, most of it Docker's exec itself. On a
# 0.25 vCPU task (25 ms of CPU per 100 ms) the Python probe stalled the server
# for up to 75 ms on every check (docs/traffic.md).
#
# The values have their homes elsewhere; tests/infra/test_infra_app_contract.py
# ties these copies to them: the path is routes.HEALTH_PATH, the default port
# settings.Settings.port.
set -u
default_port=5000
health_path=/healthz
port=${FINLEX_PORT//[[:space:]]/}
port=${port:-$default_port}

if ! { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    echo "healthcheck: nothing listens on 127.0.0.1:$port" >&2
    exit 1
fi
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$health_path" >&3
if ! IFS= read -r -t 3 status <&3; then
    echo "healthcheck: no answer from 127.0.0.1:$port$health_path within 3 s" >&2
    exit 1
fi
case $status in
"HTTP/1."?" 200 "*) exit 0 ;;
esac
echo "healthcheck: 127.0.0.1:$port$health_path answered: ${status%$'\r'}" >&2
exit 1
