#!/usr/bin/env python3
"""Writes the derivation corpus: tests/derivations/cases/NNN-theme.nix, each one expression
evaluating to one derivation (or failing as Nix fails). Programmatic so that the themes are
crossed with each other; regenerate.sh then records what Nix 2.8 makes of each.

Themes: plain derivations (names, systems, arguments and environment values of every type,
escapes), multiple outputs, fixed outputs (flat/recursive x md5/sha1/sha256/sha512 x
base16/nix-base32/base64/SRI), derivations depending on derivations (outputs, drvPath, fixed
outputs, chains, diamonds), string contexts carried through toJSON, toFile, substring,
replaceStrings, concatStringsSep, toString, appendContext and the unsafeDiscard built-ins,
structured attributes, passAsFile, __ignoreNulls, placeholder, and the errors Nix reports.
"""

import itertools
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "..", "tests", "derivations", "cases")

cases = []


def case(theme, body):
    cases.append((theme, body))


def drv(name, extra="", system='"x86_64-linux"', builder='"/bin/sh"'):
    return f'derivation {{ name = "{name}"; system = {system}; builder = {builder}; {extra} }}'


# 1. Plain derivations: names, systems, builders, arguments.
for i, name in enumerate(["a", "hello-1.0", "x_y.z", "with+plus", "q?e=1", "A" * 60, "0start", "dash-"]):
    case("name", drv(name))
for system in ['"x86_64-linux"', '"aarch64-darwin"', '"builtin"', "builtins.currentSystem", '"i686-linux"']:
    case("system", drv("sys", system=system))
for builder in ['"/bin/sh"', '"/bin/bash"', '"builtin:fetchurl"', '"${./data/script.sh}"']:
    case("builder", drv("builder", builder=builder))
for args in ['[ ]', '[ "-c" "echo hi > $out" ]', '[ "-e" ./data/script.sh ]', '[ 1 true null ]',
             '[ "a\\"b" "c\\\\d" "e\\nf" "g\\th" "i\\rj" ]', '[ [ "nested" "list" ] "x" ]']:
    case("args", drv("args", f"args = {args};"))

# 2. Environment values of every type and escape.
values = [
    '"plain"', '""', '"with \\"quotes\\""', '"back\\\\slash"', '"new\\nline"', '"tab\\there"',
    '"cr\\rhere"', '"dollar \\${x}"', '"unicode é ✓"', "42", "-7", "0", "true", "false", "null",
    '[ "a" "b" ]', '[ 1 2 3 ]', '[ ]', '[ [ ] "x" [ ] ]', '[ true false null ]', "./data/file.txt",
    '"${./data/file.txt}"', "./data", "1.5", '[ "x" [ "y" [ "z" ] ] ]',
]
for i, v in enumerate(values):
    case("env", drv("env", f"value = {v};"))
for i, (a, b) in enumerate(itertools.combinations(values[:8], 2)):
    if i % 3 == 0:
        case("env-pair", drv("pair", f"first = {a}; second = {b};"))
case("env-many", drv("many", " ".join(f"v{i} = \"{i}\";" for i in range(40))))
case("env-keys", drv("keys", '"a b" = "space"; "A" = "upper"; "_" = "u"; "x-y" = "dash";'))
case("env-override-out", drv("ovr", 'out = "mine";'))
case("env-allowed-refs", drv("refs", 'allowedReferences = [ ]; allowedRequisites = [ ]; disallowedReferences = [ "x" ]; disallowedRequisites = [ ];'))
case("env-preferlocal", drv("plb", 'preferLocalBuild = true; allowSubstitutes = false; __noChroot = false;'))

# 3. Outputs.
for outputs in ['[ "out" ]', '[ "out" "dev" ]', '[ "dev" "out" ]', '[ "bin" "lib" "out" "man" ]',
                '[ "lib" ]', '[ "a" "b" "c" "d" "e" ]', '"out dev"', '" out  doc "']:
    case("outputs", drv("outs", f"outputs = {outputs};"))
for output in ["out", "dev", "bin"]:
    sel = drv("sel", 'outputs = [ "out" "dev" "bin" ];')
    case("output-select", f"(let d = {sel}; in d.{output})")

# 4. Fixed outputs.
HASHES = {
    "md5": ("d41d8cd98f00b204e9800998ecf8427e", "3y8bwfr609h3lh9ch0izcqq7fl", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    "sha1": ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "3ab5z5vsbkzpd9ji1hdl8yk5sz1nwzvf", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="),
    "sha256": ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
               "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    "sha512": ("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
               "3hzrddy2ixxnv2p4xf9ywb5xcb77q9h3l5jvnmhanb4jn00s0yfz5pd3w7sl0cvkgyq4jvcmmqdf7s0ri7gb9ik7l6gy07f0yzc9kzb",
               "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="),
}
for algo, (b16, b32, b64) in HASHES.items():
    for mode in ["flat", "recursive", None]:
        for form, text, algo_attr in [
            ("base16", b16, algo), ("base32", b32, algo), ("base64", b64, algo),
            ("prefixed", f"{algo}:{b16}", ""), ("sri", f"{algo}-{b64}", ""),
        ]:
            mode_attr = f'outputHashMode = "{mode}";' if mode else ""
            algo_text = f'outputHashAlgo = "{algo_attr}";' if algo_attr else ""
            case("fixed", drv(f"fixed-{algo}", f'outputHash = "{text}"; {algo_text} {mode_attr}'))
case("fixed-empty", drv("empty", 'outputHash = ""; outputHashAlgo = "sha256";'))
case("fixed-named-out", drv("fo", f'outputs = [ "out" ]; outputHash = "{HASHES["sha256"][0]}"; outputHashAlgo = "sha256";'))
case("fixed-fetchurl-shape", drv("file.tar.gz", f'outputHash = "{HASHES["sha256"][1]}"; outputHashAlgo = "sha256"; outputHashMode = "flat"; url = "https://example.org/file.tar.gz"; urls = [ "https://example.org/file.tar.gz" ]; impureEnvVars = [ "http_proxy" ]; preferLocalBuild = true; executable = false; unpack = false;', system='"builtin"', builder='"builtin:fetchurl"'))

# 5. Dependencies.
A = drv("dep-a", 'args = [ "-c" "echo a > $out" ];')
M = drv("dep-m", 'outputs = [ "out" "dev" ];')
F = drv("dep-f", f'outputHash = "{HASHES["sha256"][0]}"; outputHashAlgo = "sha256"; outputHashMode = "recursive";')
F2 = drv("dep-f", f'outputHash = "{HASHES["sha256"][0]}"; outputHashAlgo = "sha256"; outputHashMode = "recursive"; other = "different recipe";')
deps = [
    ("outpath", f'let a = {A}; in {drv("uses", "dep = a;")}'),
    ("interp", "let a = " + A + "; in " + drv("uses", 'dep = "${a}/bin";')),
    ("output-dev", f'let m = {M}; in {drv("uses", "dep = m.dev;")}'),
    ("output-both", f'let m = {M}; in {drv("uses", "d1 = m.dev; d2 = m.out;")}'),
    ("drvpath", f'let a = {A}; in {drv("uses", "dep = a.drvPath;")}'),
    ("drvpath-multi", f'let m = {M}; in {drv("uses", "dep = m.drvPath;")}'),
    ("drvpath-chain", f'let a = {A}; b = {drv("b", "dep = a;")}; in {drv("uses", "dep = b.drvPath;")}'),
    ("fixed", f'let f = {F}; in {drv("uses", "dep = f;")}'),
    ("fixed-same-output", f'let f = {F2}; in {drv("uses", "dep = f;")}'),
    ("fixed-drvpath", f'let f = {F}; in {drv("uses", "dep = f.drvPath;")}'),
    ("in-args", "let a = " + A + "; in " + drv("uses", 'args = [ "-c" "cat ${a}" ];')),
    ("as-builder", "let a = " + A + "; in " + drv("uses", builder='"${a}/bin/sh"')),
    ("chain3", f'let a = {A}; b = {drv("b", "dep = a;")}; c = {drv("c", "dep = b;")}; in {drv("uses", "dep = c;")}'),
    ("diamond", f'let a = {A}; b = {drv("b", "dep = a;")}; c = {drv("c", "dep = a;")}; in {drv("uses", "x = b; y = c;")}'),
    ("list-of-drvs", f'let a = {A}; m = {M}; in {drv("uses", "deps = [ a m m.dev ];")}'),
    ("fixed-under-regular", f'let f = {F}; b = {drv("b", "dep = f;")}; in {drv("uses", "dep = b;")}'),
    ("regular-under-fixed", "let a = " + A + "; in " + drv("fo-uses", 'dep = a; outputHash = "' + HASHES["sha256"][0] + '"; outputHashAlgo = "sha256";')),
    ("source-and-drv", f'let a = {A}; in {drv("uses", "dep = a; src = ./data/file.txt;")}'),
    ("updated", f'let a = {A}; in a // {{ extra = 1; }}'),
    ("all", f'let m = {M}; in {drv("uses", "dep = builtins.map (x: x.outPath) m.all;")}'),
]
for theme, body in deps:
    case("dep-" + theme, body)
for n in range(2, 7):
    chain = A
    for i in range(n):
        chain = f"(let prev = {chain}; in {drv(f'link{i}', 'dep = prev;')})"
    case(f"dep-chain{n}", chain)

# 6. Contexts through string operations.
ctx_ops = [
    ("tojson", 'builtins.toJSON { inherit a; n = 1; }'),
    ("tojson-list", 'builtins.toJSON [ a a.drvPath ]'),
    ("substring", 'builtins.substring 0 20 "${a}"'),
    ("substring-empty", 'builtins.substring 0 0 "${a}"'),
    ("replace", 'builtins.replaceStrings [ "nix" ] [ "NIX" ] "${a}"'),
    ("concat-sep", 'builtins.concatStringsSep ":" [ "${a}" "x" ]'),
    ("tostring-list", 'builtins.toString [ a "y" ]'),
    ("discard", 'builtins.unsafeDiscardStringContext "${a}"'),
    ("discard-output-dep", 'builtins.unsafeDiscardOutputDependency a.drvPath'),
    ("append-path", 'builtins.appendContext "text" { "${builtins.unsafeDiscardStringContext a.drvPath}" = { path = true; }; }'),
    ("append-outputs", 'builtins.appendContext "text" { "${builtins.unsafeDiscardStringContext a.drvPath}" = { outputs = [ "out" ]; }; }'),
    ("append-all", 'builtins.appendContext "text" { "${builtins.unsafeDiscardStringContext a.drvPath}" = { allOutputs = true; }; }'),
    ("tofile", 'builtins.toFile "file.txt" "contents"'),
    ("tofile-ref", 'builtins.toFile "refs.txt" "see ${./data/file.txt}"'),
    ("tofile-drvpath", 'builtins.toFile "drv.txt" (builtins.unsafeDiscardOutputDependency a.drvPath)'),
    ("match-keeps-none", 'builtins.head (builtins.match "(.*)" "${a}")'),
    ("split", 'builtins.toString (builtins.split "-" "${a}")'),
    ("baseNameOf", 'baseNameOf "${a}/bin/x"'),
    ("dirOf", 'dirOf "${a}/bin/x"'),
    ("hash", 'builtins.hashString "sha256" "${a}"'),
    ("readfile-path", 'builtins.readFile ./data/file.txt'),
    ("attr-interp", '"${a.outPath}-${a.name}"'),
    ("get-context-keys", 'builtins.concatStringsSep "," (builtins.attrNames (builtins.getContext "${a}${a.drvPath}"))'),
]
for theme, expr in ctx_ops:
    case("ctx-" + theme, f'let a = {A}; in {drv("ctx", f"v = {expr};")}')

# 7. Structured attributes, __ignoreNulls, passAsFile, placeholder.
structured = [
    'x = 1;', 'l = [ 1 "two" null true 1.5 ];', 'nested = { a.b.c = [ { d = 1; } ]; };',
    'outputs = [ "out" "dev" ];', 'n = null;', 'p = ./data/file.txt;', 's = "q\\"uote\\nnl";',
    'args = [ "-c" "x" ];', 'e = { }; el = [ ];', 'big = 12345678901; neg = -3;', 'f = 0.1; g = 100.0;',
]
for body in structured:
    case("structured", drv("sa", f"__structuredAttrs = true; {body}"))
case("structured-dep", f'let a = {A}; in {drv("sa", "__structuredAttrs = true; dep = a; drvs = [ a.drvPath ];")}')
case("structured-off", drv("sa", "__structuredAttrs = false; x = 1;"))
case("structured-fixed", drv("sa", f'__structuredAttrs = true; outputHash = "{HASHES["sha256"][0]}"; outputHashAlgo = "sha256"; outputHashMode = "flat";'))
case("structured-ignorenulls", drv("sa", "__structuredAttrs = true; __ignoreNulls = true; n = null; x = 1;"))
for body in ['n = null;', 'n = null; x = "kept";', 'outputs = null;', 'args = null;', 'builder2 = null; keep = null;']:
    case("ignorenulls", drv("in", f"__ignoreNulls = true; {body}"))
case("ignorenulls-false", drv("in", "__ignoreNulls = false; n = null;"))
for body in ['passAsFile = [ "big" ]; big = "large text";', 'passAsFile = [ "a" "b" ]; a = "1"; b = "2";',
             'passAsFile = [ ]; x = "y";', 'passAsFile = [ "missing" ];']:
    case("passasfile", drv("paf", body))
for out in ["out", "dev", "bin"]:
    case("placeholder", drv("ph", f'outputs = [ "out" "dev" "bin" ]; v = "${{builtins.placeholder "{out}"}}/x";'))
case("placeholder-plain", drv("ph", 'v = builtins.placeholder "out";'))
case("derivation-attrs", f'let d = {drv("attrs", "x = 1;")}; in {drv("uses", "t = d.type; n = d.name; o = d.outputName; dp = d.drvPath;")}')
case("derivation-strict", 'let s = builtins.derivationStrict { name = "strict"; system = "x"; builder = "/bin/sh"; }; in ' + drv("uses", "o = s.out; d = s.drvPath;"))

# 8. Sources: builtins.path (named, filtered), filterSource, storeDir.
sources = [
    ("path-named", 'src = builtins.path { path = ./data; name = "data-src"; };'),
    ("path-filter", 'src = builtins.path { path = ./data; filter = p: t: baseNameOf p == "file.txt"; };'),
    ("filter-source", 'src = builtins.filterSource (p: t: baseNameOf p != "script.sh") ./data;'),
    ("path-file", 'src = builtins.path { path = ./data/file.txt; };'),
    ("store-dir", 'dir = builtins.storeDir;'),
    ("path-in-list", 'srcs = [ ./data/file.txt ./data/script.sh ];'),
]
for theme, body in sources:
    case("src-" + theme, drv("src", body))

# 9. Errors, as Nix reports them.
errors = [
    ("no-name", 'derivation { system = "x"; builder = "/bin/sh"; }'),
    ("no-builder", 'derivation { name = "x"; system = "x"; }'),
    ("no-system", 'derivation { name = "x"; builder = "/bin/sh"; }'),
    ("drv-name", drv("x.drv")),
    ("dup-output", drv("x", 'outputs = [ "out" "out" ];')),
    ("output-drv", drv("x", 'outputs = [ "drv" ];')),
    ("empty-outputs", drv("x", 'outputs = [ ];')),
    ("bad-mode", drv("x", 'outputHash = "abc"; outputHashMode = "weird";')),
    ("fixed-multi", drv("x", f'outputs = [ "out" "dev" ]; outputHash = "{HASHES["sha256"][0]}"; outputHashAlgo = "sha256";')),
    ("bad-hash-length", drv("x", 'outputHash = "abc"; outputHashAlgo = "sha256";')),
    ("hash-no-type", drv("x", f'outputHash = "{HASHES["sha256"][0]}";')),
    ("hash-type-mismatch", drv("x", f'outputHash = "sha1:{HASHES["sha1"][0]}"; outputHashAlgo = "sha256";')),
    ("empty-hash-no-algo", drv("x", 'outputHash = "";')),
    ("name-context", f'let a = {A}; in derivation {{ name = "${{a}}"; system = "x"; builder = "/bin/sh"; }}'),
    ("ca", drv("x", '__contentAddressed = true;')),
    ("impure", drv("x", '__impure = true;')),
    ("not-a-set", 'derivation "x"'),
    ("fn-value", drv("x", 'f = x: x;')),
    ("tofile-output", f'let a = {A}; in builtins.toFile "x" "${{a}}"'),
    ("structured-fn", drv("x", '__structuredAttrs = true; f = x: x;')),
]
for theme, body in errors:
    case("error-" + theme, body)

# 9. `__json` written by Nix's JSON printer: floats with six significant digits, control
# characters as \u00XX.
case("structured-json-printer", drv("sa", r'__structuredAttrs = true; f = [ 3.0 (1.0 / 3) 123456789.0 1.0e20 1.5e-7 (-2.5) ]; c = builtins.fromJSON "\"\\b\\f\\u0001\\t\"";'))


def main():
    if os.path.isdir(CASES):
        for f in os.listdir(CASES):
            # Recordings go with their cases: regenerate.sh writes them again.
            if f.endswith((".nix", ".exp", ".drv", ".err")):
                os.remove(os.path.join(CASES, f))
    os.makedirs(os.path.join(CASES, "data"), exist_ok=True)
    with open(os.path.join(CASES, "data", "file.txt"), "w") as f:
        f.write("a file of the derivation corpus\n")
    with open(os.path.join(CASES, "data", "script.sh"), "w") as f:
        f.write("echo from a script > $out\n")
    for i, (theme, body) in enumerate(cases):
        with open(os.path.join(CASES, f"{i:03d}-{theme}.nix"), "w") as f:
            f.write(f"# generated by scripts/derivations/generate.py\n{body}\n")
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
