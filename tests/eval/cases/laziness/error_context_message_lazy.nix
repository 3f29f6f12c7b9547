# addErrorContext evaluates its message only when the value fails: a message that cannot
# be evaluated does not matter to a value that succeeds.
builtins.addErrorContext (throw "the message is never evaluated") [ 1 2 ]
