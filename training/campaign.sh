#!/usr/bin/env bash
# The standing CPU training campaign (training/campaign.py): start | status | pause | resume | stop
exec python3 "$(dirname "$0")/campaign.py" "$@"
