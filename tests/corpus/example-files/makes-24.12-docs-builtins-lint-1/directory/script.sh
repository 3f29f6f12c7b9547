#!/usr/bin/env bash
echo "a script in the directory the example lints"
