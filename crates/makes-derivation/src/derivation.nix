/* Nix 2.8's `derivation` (its src/libexpr/primops/derivation.nix), word for word but for
   `builtins.derivationStrict`: a wrapper around the `derivationStrict` primop. */

drvAttrs @ { outputs ? [ "out" ], ... }:

let

  strict = builtins.derivationStrict drvAttrs;

  commonAttrs = drvAttrs // (builtins.listToAttrs outputsList) //
    { all = map (x: x.value) outputsList;
      inherit drvAttrs;
    };

  outputToAttrListElement = outputName:
    { name = outputName;
      value = commonAttrs // {
        outPath = builtins.getAttr outputName strict;
        drvPath = strict.drvPath;
        type = "derivation";
        inherit outputName;
      };
    };

  outputsList = map outputToAttrListElement outputs;

in (builtins.head outputsList).value
