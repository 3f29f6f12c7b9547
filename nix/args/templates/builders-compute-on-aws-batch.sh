# shellcheck shell=bash

batch-client submit-job --pipeline "__argJobs__" "${@}"
