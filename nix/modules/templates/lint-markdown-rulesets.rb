# Set custom rule sets here
