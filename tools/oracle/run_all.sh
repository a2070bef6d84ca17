#!/bin/sh
# Produces every Arm NN fixture, one model family after another (CpuRef is
# slow and the machine is shared: never run two at once). Resumable: finished
# images are kept in the work dir (default /tmp/oracle_work). SSD (~15 s per
# image) first runs on 20 images so DeepLab is not held up, then resumes to all 80.
# Usage: nohup tools/oracle/run_all.sh > /tmp/oracle_work/run_all.log 2>&1 &
set -e
cd "$(dirname "$0")/../.."
run() { /usr/bin/python3 tools/oracle/armnn_fixtures.py "$@"; }
run mnv2
run mnv1
run mnv2ptq
run --limit 20 ssd
run deeplab
run ssd
