# makes' package set for building the corpus' jobs offline (the harness's build pass, see
# tests/e2e/corpus.rs): a stand-in for nixpkgs whose packages are the host's own tools, as the
# test fixtures' stand-in (fixtures/nix-packages/stand-in-nixpkgs) makes them: plain
# derivations built by the host's /bin/sh, each wrapping (or copying) a real program of the
# host, so what a job builds with them really works. `lib` is what LIBPATH holds: nixpkgs'
# real lib in the corpus run (the e2e fixture takes the stand-in's small one).
#
# It holds only what makes' own helpers and modules take from their package set and the host
# really has (bash, GNU coreutils, sed, grep, findutils, jq, git, Python 3.11, Node.js 20,
# shellcheck, ...). Any other name is missing, as from a nixpkgs without it, so a job that
# needs it is "not built" naming the package, never built with something else.
#
# The harness makes a directory of this (`default.nix` calling it with `libPath = ./lib`, and
# `lib` nixpkgs' lib) and passes it as makes' package set: `--option makes-nixpkgs DIR`.
{ libPath }:
{ system ? builtins.currentSystem, config ? { }, overlays ? [ ], ... }:
let
  lib = import libPath;

  mk = name: script: derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  };

  # A package of the host's programs TOOLS: each `bin/<tool>` runs the host's program, found in
  # the usual places; a program the host lacks fails the package's build, naming it.
  wrap = name: tools: mk name ''
    set -e
    mkdir -p $out/bin
    for tool in ${toString tools}; do
      found=
      for dir in /usr/bin /bin /usr/local/bin /usr/sbin /sbin; do
        if test -x $dir/$tool; then found=$dir/$tool; break; fi
      done
      test -n "$found" || { echo "the stand-in ${name} wraps the host's $tool: install it" >&2; exit 1; }
      printf '#!/bin/sh\nexec %s "$@"\n' "$found" > $out/bin/$tool
      chmod +x $out/bin/$tool
    done
  '';

  # The Python tools makes pins (mypy 1.9.0, prospector 1.10.3, ...), as the Python-check tests
  # take them: the virtual environment scripts/install-python-tools.sh makes.
  venvTool = name: tool: mk name ''
    venv=/usr/local/lib/makes-python-tools/bin
    test -x $venv/${tool} || { echo "the stand-in ${name} wraps $venv/${tool}: run scripts/install-python-tools.sh" >&2; exit 1; }
    mkdir -p $out/bin
    printf '#!/bin/sh\nexec %s "$@"\n' $venv/${tool} > $out/bin/${tool}
    chmod +x $out/bin/${tool}
  '';

  coreutilsTools = [
    "[" "b2sum" "base32" "base64" "basename" "basenc" "cat" "chgrp" "chmod" "chown" "cksum"
    "comm" "cp" "csplit" "cut" "date" "dd" "df" "dir" "dircolors" "dirname" "du" "echo" "env"
    "expand" "expr" "factor" "false" "fmt" "fold" "groups" "head" "hostid" "id" "install"
    "join" "link" "ln" "logname" "ls" "md5sum" "mkdir" "mkfifo" "mknod" "mktemp" "mv" "nice"
    "nl" "nohup" "nproc" "numfmt" "od" "paste" "pathchk" "pr" "printenv" "printf" "ptx" "pwd"
    "readlink" "realpath" "rm" "rmdir" "seq" "sha1sum" "sha224sum" "sha256sum" "sha384sum"
    "sha512sum" "shred" "shuf" "sleep" "sort" "split" "stat" "stdbuf" "stty" "sum" "sync" "tac"
    "tail" "tee" "test" "timeout" "touch" "tr" "true" "truncate" "tsort" "tty" "uname"
    "unexpand" "uniq" "unlink" "vdir" "wc" "whoami" "yes"
  ];

  base = self: {
    inherit lib system config;
    # bash itself (makeScript's interpreter): the host's binary, copied.
    bash = mk "bash-host" ''
      mkdir -p $out/bin
      cp /bin/bash $out/bin/bash
      ln -s bash $out/bin/sh
    '';
    runtimeShell = "${self.bash}/bin/bash";
    coreutils = wrap "coreutils-host" coreutilsTools;
    # The host's CA bundle, where makeScript's SSL_CERT_FILE points.
    cacert = mk "nss-cacert-host" ''
      mkdir -p $out/etc/ssl/certs
      cp /etc/ssl/certs/ca-certificates.crt $out/etc/ssl/certs/ca-bundle.crt
    '';
    less = wrap "less-host" [ "less" ];
    gnused = wrap "gnused-host" [ "sed" ];
    gnugrep = wrap "gnugrep-host" [ "grep" "egrep" "fgrep" ];
    findutils = wrap "findutils-host" [ "find" "xargs" ];
    diffutils = wrap "diffutils-host" [ "cmp" "diff" "diff3" "sdiff" ];
    gnutar = wrap "gnutar-host" [ "tar" ];
    gzip = wrap "gzip-host" [ "gzip" "gunzip" "zcat" ];
    xz = wrap "xz-host" [ "xz" "unxz" "xzcat" ];
    zstd = wrap "zstd-host" [ "zstd" "unzstd" "zstdcat" ];
    unzip = wrap "unzip-host" [ "unzip" ];
    gnupatch = wrap "gnupatch-host" [ "patch" ];
    which = wrap "which-host" [ "which" ];
    file = wrap "file-host" [ "file" ];
    patchelf = wrap "patchelf-host" [ "patchelf" ];
    envsubst = wrap "envsubst-host" [ "envsubst" ];
    gettext = wrap "gettext-host" [ "gettext" "envsubst" ];
    jq = wrap "jq-host" [ "jq" ];
    yq = wrap "yq-host" [ "yq" ];
    git = wrap "git-host" [ "git" ];
    curl = wrap "curl-host" [ "curl" ];
    openssl = wrap "openssl-host" [ "openssl" ];
    gnupg = wrap "gnupg-host" [ "gpg" ];
    lsof = wrap "lsof-host" [ "lsof" ];
    skopeo = wrap "skopeo-host" [ "skopeo" ];
    shellcheck = wrap "shellcheck-host" [ "shellcheck" ];
    shfmt = wrap "shfmt-host" [ "shfmt" ];
    mdl = wrap "mdl-host" [ "mdl" ];
    reuse = wrap "reuse-host" [ "reuse" ];
    yamllint = wrap "yamllint-host" [ "yamllint" ];
    # The host's Terraform is a 1.x.
    terraform = wrap "terraform-host" [ "terraform" ];
    terraform_1 = self.terraform;
    # The host's Node.js is 20.
    nodejs_20 = wrap "nodejs-20-host" [ "node" "npm" "npx" ];
    nodejs = self.nodejs_20;
    # The host's (Debian's) CPython 3.11, under nixpkgs' names (`python` too).
    python311 = mk "python3.11-host" ''
      test -x /usr/bin/python3.11 || { echo "the stand-in python3.11-host wraps the host's /usr/bin/python3.11: install it" >&2; exit 1; }
      mkdir -p $out/bin
      for name in python3.11 python3 python; do
        printf '#!/bin/sh\nexec /usr/bin/python3.11 "$@"\n' > $out/bin/$name
        chmod +x $out/bin/$name
      done
    '';
    python3 = self.python311;
    python311Packages = {
      # Debian's colorama (for python3.11), where nixpkgs' python311 finds it.
      colorama = mk "colorama-host" ''
        test -d /usr/lib/python3/dist-packages/colorama || { echo "the stand-in colorama-host links Debian's python3-colorama: install it" >&2; exit 1; }
        mkdir -p $out/lib/python3.11/site-packages
        ln -s /usr/lib/python3/dist-packages/colorama $out/lib/python3.11/site-packages/colorama
      '';
      bandit = wrap "bandit-host" [ "bandit" ];
      black = wrap "black-host" [ "black" ];
      isort = wrap "isort-host" [ "isort" ];
      mypy = venvTool "mypy-1.9.0" "mypy";
      prospector = venvTool "prospector-1.10.3" "prospector";
      pylint = venvTool "pylint-2.17.7" "pylint";
      import-linter = venvTool "import-linter-1.2.4" "lint-imports";
      pytest = venvTool "pytest-7.2.0" "pytest";
    };
    black = self.python311Packages.black;
    isort = self.python311Packages.isort;
  };
in
# Overlays applied as nixpkgs applies them (with builtins only: `lib` may be a small stand-in).
builtins.foldl'
  (super: overlay: let self = super // overlay self super; in self)
  (let self = base self; in self)
  overlays
