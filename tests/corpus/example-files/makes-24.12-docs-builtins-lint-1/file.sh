#!/usr/bin/env bash
echo "a file the example lints"
