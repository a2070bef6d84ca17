#!/bin/sh
# Produces every Arm NN fixture, one model family after another (CpuRef is
# slow and the machine is shared: never run two at once). Resumable: finished
# images are kept in the work dir (default /tmp/oracle_work).
# Usage: nohup tools/oracle/run_all.sh > /tmp/oracle_work/run_all.log 2>&1 &
set -e
cd "$(dirname "$0")/../.."
for family in mnv2 mnv1 ssd deeplab; do
    /usr/bin/python3 tools/oracle/armnn_fixtures.py "$family"
done
